// Polls the staff-only progress endpoint and updates every progress bar on the page.
(function () {
  "use strict";
  const POLL_MS = 2000;

  function bars() { return Array.from(document.querySelectorAll(".job-progress[data-job-id]")); }

  async function poll() {
    const els = bars();
    if (!els.length) return;
    const ids = els.map((el) => el.dataset.jobId).join(",");
    let data;
    try {
      const resp = await fetch(els[0].dataset.url + "?ids=" + ids, { credentials: "same-origin" });
      if (!resp.ok) return;
      data = await resp.json();
    } catch (e) { return; }  // offline for a moment: try again at the next tick
    let running = false;
    for (const job of data.jobs) {
      const pct = Math.round(job.progress * 1000) / 10;
      for (const el of document.querySelectorAll('.job-progress[data-job-id="' + job.id + '"]')) {
        el.querySelector(".job-progress-fill").style.width = pct + "%";
        el.querySelector(".job-progress-text").textContent =
          pct + "% " + (job.total ? "(" + job.step + "/" + job.total + ")" : "");
        el.title = job.message;
      }
      for (const el of document.querySelectorAll('[data-job-status="' + job.id + '"]')) {
        el.textContent = job.status.charAt(0).toUpperCase() + job.status.slice(1);
        el.className = "job-status job-status-" + job.status;
      }
      if (!job.finished) running = true;
    }
    if (running) setTimeout(poll, POLL_MS);
  }
  document.addEventListener("DOMContentLoaded", () => setTimeout(poll, POLL_MS));
})();
