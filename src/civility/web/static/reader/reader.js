// Live character counter for the comment box; the server enforces the same limit.
(function () {
  "use strict";
  document.querySelectorAll("textarea[data-counter]").forEach(function (box) {
    var counter = document.getElementById(box.dataset.counter);
    if (!counter) return;
    var max = parseInt(counter.dataset.max, 10);
    function update() {
      // Count code points, as the server does, so emoji and Kurdish letters count once.
      var used = Array.from(box.value).length;
      counter.textContent = used + " / " + max;
      counter.classList.toggle("over", used > max);
    }
    box.addEventListener("input", update);
    update();
  });
})();
