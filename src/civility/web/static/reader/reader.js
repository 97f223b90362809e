// Reader pages. The page works without this file; it adds the live character counter and,
// inside the embed's frame, tells the publisher's page how tall the comments are.
(function () {
  "use strict";

  var LATIN = "0123456789";

  // Our numbers in the page language's digits (Persian ۱۲۳, Arabic-Indic ١٢٣), as the
  // server writes them (data-digits is empty for languages that use 0-9).
  function localDigits(text, digits) {
    if (!digits || digits.length !== 10) return String(text);
    return String(text).replace(/[0-9]/g, function (d) { return digits.charAt(LATIN.indexOf(d)); });
  }

  // What the server's limit counts: characters (code points, so an emoji or a Kurdish
  // letter counts once) of the text exactly as the form sends it, where every line break
  // is CR LF, two characters.
  function sentLength(value) {
    return Array.from(value.replace(/\r\n|\r|\n/g, "\r\n")).length;
  }

  document.querySelectorAll("textarea[data-counter]").forEach(function (box) {
    var counter = document.getElementById(box.dataset.counter);
    if (!counter) return;
    var max = parseInt(counter.dataset.max, 10);
    var digits = counter.dataset.digits;
    function update() {
      var used = sentLength(box.value);
      var over = used > max;
      var template = (over ? counter.dataset.overTemplate : counter.dataset.template) || "{used} / {max}";
      counter.textContent = template
        .replace("{used}", localDigits(used, digits))
        .replace("{max}", localDigits(max, digits));
      counter.dataset.used = String(used);
      counter.classList.toggle("over", over);
    }
    box.addEventListener("input", update);
    update();
  });

  // Inside the embed's frame: report the page's height (and title) to the publisher's page,
  // whose embed.js listener accepts messages only from this origin and this frame.
  if (window.parent === window || !document.body.classList.contains("embedded")) return;
  var ancestors = window.location.ancestorOrigins;
  var target = ancestors && ancestors.length ? ancestors[0] : "*";  // only a height is sent
  var lastHeight = -1;
  function report() {
    var height = Math.ceil(document.documentElement.getBoundingClientRect().height);
    if (height === lastHeight) return;
    lastHeight = height;
    window.parent.postMessage(
      { type: "civility:resize", height: height, title: document.title }, target
    );
  }
  if (window.ResizeObserver) new ResizeObserver(report).observe(document.documentElement);
  window.addEventListener("load", report);
  report();
})();
