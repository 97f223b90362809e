// Keyboard moderation for the queue. The page works without this file: every action is a
// plain form. This only adds shortcuts and submits the same forms in the background.
(function () {
  "use strict";

  var queue = document.getElementById("queue");
  if (!queue) return;
  var help = document.getElementById("help-overlay");
  var live = document.getElementById("queue-live");
  var current = -1;

  function cards() {
    return Array.prototype.slice.call(queue.querySelectorAll(".card"));
  }

  function announce(text) {
    if (live) live.textContent = text;
  }

  function focusCard(index) {
    var all = cards();
    if (!all.length) return;
    index = Math.max(0, Math.min(index, all.length - 1));
    all.forEach(function (card) { card.classList.remove("current"); });
    var card = all[index];
    card.classList.add("current");
    card.focus({ preventScroll: true });
    card.scrollIntoView({ block: "nearest" });
    current = index;
  }

  function currentCard() {
    var all = cards();
    return current >= 0 && current < all.length ? all[current] : null;
  }

  function closePickers() {
    queue.querySelectorAll("details.reject[open]").forEach(function (d) { d.open = false; });
  }

  function markDecided(card, data) {
    card.classList.add("decided");
    card.dataset.status = data.status;
    var badge = card.querySelector(".status");
    if (badge) {
      badge.textContent = data.status_label;
      badge.className = "status status-" + data.status;
    }
    var history = card.querySelector(".decision-trail");
    if (history && data.history_html !== undefined) history.innerHTML = data.history_html;
    var box = card.querySelector("input.select");
    if (box) box.checked = false;
    announce(data.message);
  }

  // Submit a card's form in the background; fall back to a normal submit on any failure.
  function submitForm(form) {
    var card = form.closest(".card");
    if (!window.fetch) { form.submit(); return; }
    // getAttribute: the form's input named "action" shadows the form.action property.
    fetch(form.getAttribute("action"), {
      method: "POST",
      body: new FormData(form),
      headers: { "Accept": "application/json", "X-Requested-With": "fetch" },
      credentials: "same-origin",
    }).then(function (response) {
      if (!response.ok) throw new Error("HTTP " + response.status);
      return response.json();
    }).then(function (data) {
      closePickers();
      markDecided(card, data);
      var all = cards();
      if (card === all[current] && current < all.length - 1) focusCard(current + 1);
    }).catch(function () { form.submit(); });
  }

  queue.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.classList.contains("decide")) return;
    event.preventDefault();
    submitForm(form);
  });

  queue.addEventListener("click", function (event) {
    var card = event.target.closest(".card");
    if (card) {
      var index = cards().indexOf(card);
      if (index !== current) focusCard(index);
    }
  });

  function openRejectPicker(card) {
    var picker = card.querySelector("details.reject");
    if (!picker) return;
    picker.open = true;
    var first = picker.querySelector("input[type=checkbox], input[type=radio]");
    if (first) first.focus();
  }

  // Inside an open reject picker: digits toggle reasons, Enter rejects, Escape closes.
  function pickerKeys(event, picker) {
    var boxes = picker.querySelectorAll("input[name=reasons]");
    if (/^[1-9]$/.test(event.key)) {
      var box = boxes[Number(event.key) - 1];
      if (box) { box.checked = !box.checked; box.focus(); }
      event.preventDefault();
    } else if (event.key === "Enter") {
      event.preventDefault();
      var form = picker.querySelector("form");
      if (form.reportValidity()) form.requestSubmit ? form.requestSubmit() : submitForm(form);
    } else if (event.key === "Escape") {
      picker.open = false;
      var card = picker.closest(".card");
      if (card) card.focus();
    }
  }

  function toggleHelp(show) {
    if (!help) return;
    help.hidden = show === undefined ? !help.hidden : !show;
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    var picker = event.target.closest && event.target.closest("details.reject[open]");
    if (picker) { pickerKeys(event, picker); return; }
    var tag = event.target.tagName;
    if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT") {
      if (event.key === "Escape") event.target.blur();
      return;
    }
    if (help && !help.hidden && event.key !== "?") {
      if (event.key === "Escape") toggleHelp(false);
      return;
    }
    var card = currentCard();
    switch (event.key) {
      case "j": focusCard(current + 1); break;
      case "k": focusCard(current - 1); break;
      case "a":
        // Approving an approved comment again would only add noise to its trail.
        if (card && card.dataset.status === "approved") announce(queue.dataset.alreadyApproved);
        else if (card) submitForm(card.querySelector("form.approve"));
        break;
      case "r":
        if (card) openRejectPicker(card);
        break;
      case "x":
        if (card) {
          var box = card.querySelector("input.select");
          if (box) box.checked = !box.checked;
        }
        break;
      case "A": clickBulk("approve"); break;
      case "R": openBulkReject(); break;
      case "?": toggleHelp(); break;
      case "Escape": toggleHelp(false); closePickers(); break;
      default: return;
    }
    event.preventDefault();
  });

  function clickBulk(action) {
    var button = document.querySelector("#bulk-form button[value=" + action + "]");
    if (button) button.click();
  }

  // Bulk rejection needs reasons first: open its picker rather than submitting blind.
  function openBulkReject() {
    var picker = document.querySelector("#bulk-form details.bulk-reject");
    if (!picker) return;
    picker.open = true;
    var first = picker.querySelector("input[name=reasons]");
    if (first) first.focus();
  }

  var helpButton = document.getElementById("help-button");
  if (helpButton) helpButton.addEventListener("click", function () { toggleHelp(); });
  var helpClose = document.getElementById("help-close");
  if (helpClose) helpClose.addEventListener("click", function () { toggleHelp(false); });

  // Start on the card named in the address (after a no-JS round trip) or the first one.
  var fromHash = location.hash ? document.getElementById(location.hash.slice(1)) : null;
  var start = fromHash ? cards().indexOf(fromHash) : 0;
  if (cards().length) focusCard(start < 0 ? 0 : start);
})();
