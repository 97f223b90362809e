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
    scheduleClaim(card);
  }

  function currentCard() {
    var all = cards();
    return current >= 0 && current < all.length ? all[current] : null;
  }

  function closePickers() {
    queue.querySelectorAll("details.reject[open]").forEach(function (d) { d.open = false; });
  }

  // Put the server's fresh rendering of a card in place of the old one, keeping the focus.
  function replaceCard(card, html) {
    var template = document.createElement("template");
    template.innerHTML = html.trim();
    var fresh = template.content.firstElementChild;
    if (!fresh) return card;
    var wasCurrent = card.classList.contains("current");
    card.replaceWith(fresh);
    if (wasCurrent) {
      fresh.classList.add("current");
      fresh.focus({ preventScroll: true });
    }
    showReaders(fresh);
    return fresh;
  }

  function markDecided(card, data) {
    if (data.card_html) card = replaceCard(card, data.card_html);
    card.classList.add("decided");
    announce(data.message);
    return card;
  }

  // Someone decided first: the card shows the comment as it is now and says who decided.
  function showConflict(card, data) {
    if (data.card_html) card = replaceCard(card, data.card_html);
    var box = card.querySelector(".conflict");
    if (box) {
      box.textContent = data.error;
      box.hidden = false;
    }
    announce(data.error);
  }

  // Submit a card's form in the background; fall back to a normal submit on any failure.
  function submitForm(form) {
    var card = form.closest(".card");
    if (!window.fetch) { form.submit(); return; }
    card.dataset.submitting = "1";
    // getAttribute: the form's input named "action" shadows the form.action property.
    fetch(form.getAttribute("action"), {
      method: "POST",
      body: new FormData(form),
      headers: { "Accept": "application/json", "X-Requested-With": "fetch" },
      credentials: "same-origin",
    }).then(function (response) {
      if (response.status === 409) {
        return response.json().then(function (data) { data.conflict = true; return data; });
      }
      if (!response.ok) throw new Error("HTTP " + response.status);
      return response.json();
    }).then(function (data) {
      closePickers();
      var index = cards().indexOf(card);
      if (data.conflict) { showConflict(card, data); return; }
      markDecided(card, data);
      if (index === current && current < cards().length - 1) focusCard(current + 1);
    }).catch(function () {
      delete card.dataset.submitting;
      form.submit();
    });
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
        else if (card && card.querySelector("form.approve")) {
          submitForm(card.querySelector("form.approve"));
        }
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

  // --- Live queue ------------------------------------------------------------------------
  // New comments and other moderators' decisions arrive as Server-Sent Events naming the
  // comments that changed; the cards are then fetched under this page's filters. A card
  // that no longer matches (decided, in the pending queue) leaves with a notice, unless it
  // is one this page decided itself. Without EventSource, or when it gives up, the same
  // events are polled.
  var cfg = queue.dataset;
  var notices = document.getElementById("live-notices");
  var countLine = document.getElementById("queue-count");
  var emptyLine = document.querySelector(".moderation .empty");
  var readers = {};
  var filters = (function () {
    var params = new URLSearchParams(location.search);
    params.delete("page");
    return params;
  })();

  function csrfToken() {
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function notify(text) {
    if (!notices || !text) return;
    var item = document.createElement("li");
    item.textContent = text;
    notices.insertBefore(item, notices.firstChild);
    while (notices.children.length > 5) notices.removeChild(notices.lastChild);
  }

  function cardById(id) {
    return document.getElementById("comment-" + id);
  }

  // A card the moderator is working in (reasons picker open, typing a note) is left alone
  // until its own decision comes back (a stale one is refused as a conflict).
  function busy(card) {
    return card.dataset.submitting === "1" || !!card.querySelector("details.reject[open]");
  }

  function insertCard(entry) {
    var all = cards();
    var before = null;
    for (var i = 0; i < all.length; i++) {
      if (all[i].dataset.order > entry.order) { before = all[i]; break; }
    }
    // Past the end of a page that is not the last: it belongs to a later page.
    if (!before && cfg.lastPage !== "1") return;
    var template = document.createElement("template");
    template.innerHTML = entry.html.trim();
    var fresh = template.content.firstElementChild;
    if (!fresh) return;
    queue.insertBefore(fresh, before);
    showReaders(fresh);
    if (before && current >= 0 && all.indexOf(before) <= current) current += 1;
    if (current < 0) focusCard(0);
  }

  function removeCard(card) {
    var all = cards();
    var index = all.indexOf(card);
    var wasCurrent = index === current;
    card.remove();
    if (index >= 0 && index < current) current -= 1;
    if (wasCurrent) {
      current = -1;
      if (cards().length) focusCard(Math.min(index, cards().length - 1));
    }
  }

  function applyCards(answer) {
    answer.cards.forEach(function (entry) {
      var card = cardById(entry.id);
      if (!card) { insertCard(entry); return; }
      if (busy(card)) return;
      if (String(entry.decision || "") !== card.dataset.decision) {
        var decided = replaceCard(card, entry.html);
        if (!decided.classList.contains("decided")) decided.classList.add("changed");
      } else if (!card.classList.contains("decided")) {
        replaceCard(card, entry.html);
      }
    });
    answer.gone.forEach(function (entry) {
      var card = cardById(entry.id);
      if (!card || busy(card)) return;
      // This page's own decision: the card stays, marked decided, until the next reload.
      if (String(entry.decision || "") === card.dataset.decision) return;
      removeCard(card);
      notify(entry.notice);
    });
    if (countLine && answer.count) countLine.textContent = answer.count;
    if (emptyLine) emptyLine.hidden = cards().length > 0;
  }

  function fetchCards(ids) {
    for (var start = 0; start < ids.length; start += 50) {
      var params = new URLSearchParams(filters);
      params.set("ids", ids.slice(start, start + 50).join(","));
      fetch(cfg.cardsUrl + "?" + params.toString(), {
        headers: { "Accept": "application/json" },
        credentials: "same-origin",
      }).then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      }).then(applyCards).catch(function () { /* the next event or a reload catches up */ });
    }
  }

  function showReaders(card) {
    var box = card.querySelector(".readers");
    if (!box) return;
    var names = readers[card.dataset.commentId];
    if (!names || !names.length) { box.hidden = true; box.textContent = ""; return; }
    var pattern = names.length === 1 ? cfg.readingOne : cfg.readingMany;
    box.textContent = pattern.replace("%(names)s", names.join(", "));
    box.hidden = false;
  }

  function applyClaims(claims) {
    readers = claims || {};
    cards().forEach(showReaders);
  }

  function onQueueEvent(payload) {
    if (payload.comments && payload.comments.length) fetchCards(payload.comments);
  }

  var since = cfg.since;
  var stopped = false;

  function stopLive() {
    if (stopped) return;
    stopped = true;
    notify(cfg.livePaused);
  }

  // The fallback: the same batches as JSON, every two seconds.
  function poll() {
    if (stopped) return;
    var params = new URLSearchParams({ format: "json", since: since });
    fetch(cfg.liveUrl + "?" + params.toString(), {
      headers: { "Accept": "application/json" },
      credentials: "same-origin",
    }).then(function (response) {
      if (response.status === 403) { stopLive(); return null; }
      if (!response.ok) throw new Error("HTTP " + response.status);
      return response.json();
    }).then(function (answer) {
      if (!answer) return;
      queue.dataset.live = "polling";
      since = answer.cursor;
      onQueueEvent(answer);
      applyClaims(answer.claims);
      setTimeout(poll, 2000);
    }).catch(function () { setTimeout(poll, 5000); });
  }

  function listen() {
    if (!window.EventSource || !cfg.liveUrl) { poll(); return; }
    var source = new EventSource(cfg.liveUrl + "?since=" + encodeURIComponent(since));
    source.addEventListener("queue", function (event) {
      if (event.lastEventId) since = event.lastEventId;
      onQueueEvent(JSON.parse(event.data));
    });
    source.addEventListener("claims", function (event) {
      queue.dataset.live = "streaming";
      applyClaims(JSON.parse(event.data).claims);
    });
    source.addEventListener("error", function () {
      // CLOSED: the server refused the stream (signed out, an error): poll instead, which
      // says so if the moderator is no longer signed in.
      if (source.readyState === EventSource.CLOSED) poll();
    });
  }

  // --- Soft claims: "Layla is reading this" ----------------------------------------------
  // The current card is claimed after a moment on it, and renewed while the moderator is
  // active here; the claim lapses on the server two minutes after the last renewal.
  var claimSeconds = Number(cfg.claimSeconds) || 120;
  var lastActivity = Date.now();
  var claimTimer = null;
  var claimed = null;

  ["keydown", "mousedown", "scroll", "touchstart"].forEach(function (name) {
    document.addEventListener(name, function () { lastActivity = Date.now(); }, { passive: true });
  });

  function claimUrl(id) {
    return cfg.claimUrl.replace("/0/", "/" + encodeURIComponent(id) + "/");
  }

  function sendClaim(card) {
    if (!card || !card.isConnected || !cfg.claimUrl || !window.fetch) return;
    claimed = card.dataset.commentId;
    fetch(claimUrl(claimed), {
      method: "POST",
      headers: { "X-CSRFToken": csrfToken(), "Accept": "application/json" },
      credentials: "same-origin",
    }).catch(function () { /* a claim is only a courtesy */ });
  }

  function scheduleClaim(card) {
    if (claimTimer) clearTimeout(claimTimer);
    claimTimer = setTimeout(function () { sendClaim(card); }, 800);
  }

  setInterval(function () {
    var card = currentCard();
    var active = Date.now() - lastActivity < claimSeconds * 1000;
    if (card && active && document.visibilityState === "visible") sendClaim(card);
  }, (claimSeconds / 2) * 1000);

  window.addEventListener("pagehide", function () {
    if (!claimed || !navigator.sendBeacon || !cfg.releaseUrl) return;
    var body = new FormData();
    body.append("csrfmiddlewaretoken", csrfToken());
    body.append("comment", claimed);
    navigator.sendBeacon(cfg.releaseUrl, body);
  });

  // Start on the card named in the address (after a no-JS round trip) or the first one.
  var fromHash = location.hash ? document.getElementById(location.hash.slice(1)) : null;
  var start = fromHash ? cards().indexOf(fromHash) : 0;
  if (cards().length) focusCard(start < 0 ? 0 : start);
  listen();
})();
