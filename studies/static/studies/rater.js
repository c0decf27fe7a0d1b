/* The rater page: plays each trial's sound, takes an answer by mouse, touch or keyboard, and saves it.
 *
 * Answers go into a queue in localStorage first and are then sent with a client id, so a failed or
 * repeated send never loses or doubles an answer: the server stores a client id once. While offline
 * the rater keeps going through the trials the page already has (their media is preloaded) and the
 * queue is sent when the connection is back. A reload (or the same link on another device) asks the
 * server for the pending trials and resumes there.
 */
(function () {
  "use strict";
  const config = JSON.parse(document.getElementById("rater-config").textContent);
  const queueKey = "studies-queue-" + config.token;
  const $ = (id) => document.getElementById(id);
  const audio = $("audio");
  const answers = $("answers");
  const isRating = config.kind === "rating";

  let trials = [];          // pending trials not yet answered on this page
  let current = null;
  let total = 0;
  let answeredCount = 0;
  let playCount = 0;
  let playedToEnd = false;
  let shownAt = 0;
  let flushing = false;
  let started = false;      // the first state has been loaded

  function uuid4() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16));  // randomUUID needs a secure context
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }

  function loadQueue() {
    try { return JSON.parse(localStorage.getItem(queueKey) || "[]"); } catch (e) { return []; }
  }
  function saveQueue(queue) { localStorage.setItem(queueKey, JSON.stringify(queue)); }

  function say(text) { $("status").textContent = text; }
  function showError(text) {
    const box = $("error");
    box.textContent = text;
    box.hidden = !text;
  }

  function setProgress() {
    const bar = $("progress");
    bar.setAttribute("aria-valuemax", String(total));
    bar.setAttribute("aria-valuenow", String(answeredCount));
    $("progress-fill").style.width = total ? `${(100 * answeredCount) / total}%` : "0";
    $("progress-text").textContent = `${answeredCount} of ${total} answered`;
  }

  function setAnswerable(on) {
    answers.disabled = !on;
    answers.classList.toggle("ready", on);
  }

  function preload(trial) {
    if (!trial) return;
    // Fetch the next trial's media into the HTTP cache so it can be shown even if the network drops.
    [trial.sound_url, trial.image_url, trial.left_image_url, trial.right_image_url]
      .filter(Boolean).forEach((url) => fetch(url, { credentials: "same-origin" }).catch(() => {}));
  }

  function show(trial) {
    current = trial;
    playCount = 0;
    playedToEnd = false;
    setAnswerable(false);
    $("trial").hidden = false;
    $("practice-label").hidden = !trial.practice;
    audio.src = trial.sound_url;
    if (isRating) {
      $("image").src = trial.image_url;
    } else {
      $("left-image").src = trial.left_image_url;
      $("right-image").src = trial.right_image_url;
    }
    shownAt = performance.now();
    say(config.require_full_playback ? "Play the sound; you can answer when it has finished." : "Play the sound.");
    $("play").focus();
    preload(trials[0]);
  }

  function play() {
    if (!current) return;
    playCount += 1;
    audio.currentTime = 0;
    const started = audio.play();
    if (started && started.catch) started.catch(() => say("Press Play to hear the sound."));
    if (!config.require_full_playback) setAnswerable(true);
  }

  audio.addEventListener("ended", () => {
    playedToEnd = true;
    setAnswerable(true);
    say("You can answer now (or replay the sound).");
  });

  function answer(value) {
    if (!current) return;
    if (answers.disabled) {
      say(playCount ? "Please let the sound play to its end first." : "Please play the sound first.");
      return;
    }
    const item = {
      trial: current.id,
      client_id: uuid4(),
      response_time_ms: Math.max(0, Math.round(performance.now() - shownAt)),
      play_count: playCount,
      played_to_end: playedToEnd,
      answered_at: new Date().toISOString(),
    };
    if (isRating) item.rating = value; else item.choice = value;
    const queue = loadQueue();
    queue.push(item);
    saveQueue(queue);   // saved locally before anything else, so a crash or reload keeps it
    answeredCount += 1;
    setProgress();
    audio.pause();
    next();
    flush();
  }

  function next() {
    current = trials.shift() || null;
    if (current) { show(current); return; }
    $("trial").hidden = true;
    say("Saving your answers…");
    flush().then(() => { if (!loadQueue().length) refresh(); });
  }

  async function send(item) {
    const response = await fetch(config.answer_url, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(item),
      credentials: "omit",
    });
    let body = {};
    try { body = await response.json(); } catch (e) { body = {}; }
    return { status: response.status, body };
  }

  async function flush() {
    if (flushing) return;
    flushing = true;
    try {
      let queue = loadQueue();
      while (queue.length) {
        let result;
        try {
          result = await send(queue[0]);
        } catch (networkError) {
          $("offline").hidden = false;
          return;   // kept in the queue; sent on 'online' or by the retry timer
        }
        $("offline").hidden = true;
        if (result.status >= 500) return;   // server trouble: keep it and retry later
        if (result.status >= 400) {
          // Refused (e.g. the trial expired and went to someone else): the server stored nothing and
          // resending cannot help, so drop it and tell the rater.
          showError(result.body.error || `The answer was refused (${result.status}).`);
        } else if (result.body.progress) {
          total = result.body.progress.total;
        }
        queue = loadQueue();
        queue.shift();
        saveQueue(queue);
      }
      if (started && !current && !trials.length) refresh();
    } finally {
      flushing = false;
    }
  }

  async function refresh() {
    let state;
    try {
      const response = await fetch(config.state_url, { headers: { Accept: "application/json" } });
      state = await response.json();
      if (!response.ok) { showError(state.error || "This link is not valid."); return; }
    } catch (networkError) {
      $("offline").hidden = false;
      return;
    }
    started = true;
    const queued = new Set(loadQueue().map((item) => item.trial));
    if (current) queued.add(current.id);
    total = state.progress.total;
    answeredCount = state.progress.answered + queued.size - (current ? 1 : 0);
    setProgress();
    if (state.done && !loadQueue().length) { window.location.assign(config.done_url); return; }
    if (!state.study_open) { $("trial").hidden = true; say("This study is closed. Thank you."); return; }
    trials = state.trials.filter((t) => !queued.has(t.id));
    if (!current) {
      current = trials.shift() || null;
      if (current) show(current); else if (!loadQueue().length) say("No more trials.");
    }
  }

  $("play").addEventListener("click", play);
  answers.addEventListener("click", (event) => {
    const button = event.target.closest("button");
    if (!button) return;
    if (isRating) answer(Number(button.dataset.rating)); else answer(button.dataset.choice);
  });
  document.addEventListener("keydown", (event) => {
    if (event.altKey || event.ctrlKey || event.metaKey || !current) return;
    const key = event.key;
    if (key === " " || key === "p" || key === "P") { event.preventDefault(); play(); return; }
    if (isRating && /^[1-5]$/.test(key)) { event.preventDefault(); answer(Number(key)); return; }
    if (!isRating) {
      const choice = { ArrowLeft: "left", ArrowRight: "right", ArrowDown: "neither", n: "neither", N: "neither" }[key];
      if (choice) { event.preventDefault(); answer(choice); }
    }
  });
  window.addEventListener("online", () => { $("offline").hidden = true; flush(); });
  window.addEventListener("offline", () => { $("offline").hidden = false; });
  setInterval(() => { if (loadQueue().length) flush(); }, 5000);

  flush().then(refresh);
})();
