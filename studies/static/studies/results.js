/* Refresh the results panel every few seconds, so it fills live as raters answer. */
(function () {
  "use strict";
  const body = document.getElementById("results-body");
  if (!body) return;
  async function refresh() {
    try {
      const response = await fetch(body.dataset.liveUrl, { credentials: "same-origin" });
      if (response.ok) body.innerHTML = await response.text();
    } catch (e) { /* offline for a moment: try again next tick */ }
  }
  setInterval(refresh, 5000);
})();
