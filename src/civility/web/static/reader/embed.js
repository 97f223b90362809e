// Civility embed, for a publisher's article pages:
//   <script src="https://comments.example.org/embed.js" data-article="SLUG" async></script>
// Optional: data-lang="ar" (the language of the comments' page; default: the article's).
// Puts the article's approved comments and the comment form in an iframe after the script
// tag, and sizes the frame to its content from the frame's messages, accepting them only from
// Civility's origin and from that frame.
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || !script.dataset.article) return;
  var base = new URL(script.src, document.baseURI).origin;
  var src = new URL(base + "/embed/" + encodeURIComponent(script.dataset.article) + "/");
  if (script.dataset.lang) src.searchParams.set("lang", script.dataset.lang);
  var frame = document.createElement("iframe");
  frame.src = src.href;
  frame.title = script.dataset.title || "Comments";
  frame.loading = "lazy";
  frame.className = "civility-comments";
  frame.style.cssText = "display:block;width:100%;min-height:12rem;height:32rem;border:0;";
  script.parentNode.insertBefore(frame, script.nextSibling);

  window.addEventListener("message", function (event) {
    if (event.origin !== base || event.source !== frame.contentWindow) return;
    var data = event.data;
    if (!data || data.type !== "civility:resize") return;
    var height = Number(data.height);
    if (!isFinite(height) || height <= 0) return;
    frame.style.height = Math.min(Math.ceil(height), 100000) + "px";
    if (typeof data.title === "string" && data.title && !script.dataset.title) {
      frame.title = data.title.slice(0, 200);
    }
  });
})();
