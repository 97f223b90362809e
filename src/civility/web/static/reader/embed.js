// Civility embed: <script src="https://civility.example/embed.js" data-article="SLUG" async></script>
// Puts the article's approved comments and the comment form in an iframe after the script tag.
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || !script.dataset.article) return;
  var base = new URL(script.src, document.baseURI).origin;
  var frame = document.createElement("iframe");
  frame.src = base + "/embed/" + encodeURIComponent(script.dataset.article) + "/";
  frame.title = "Comments";
  frame.loading = "lazy";
  frame.style.cssText = "width:100%;min-height:32rem;border:0;";
  script.parentNode.insertBefore(frame, script.nextSibling);
})();
