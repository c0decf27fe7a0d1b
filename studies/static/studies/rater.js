/* The rater page: plays each trial's sound, takes an answer by mouse, touch or keyboard, and saves it.
 *
 * Answers are never lost: each goes into a queue in localStorage, keyed by its client id, before it
 * is sent, and leaves the queue only when the server has answered for it. A network error, a
 * timeout, a 5xx, a 408 or 429 (or any answer that is not from our API, e.g. a proxy's 403 or 413)
 * keeps it queued and it is sent again with growing pauses; the server stores a client id once, so
 * a resend never doubles it. A refusal from our API (409: already answered / study closed, 410: the
 * trial went to another rater, 400/404) is shown to the rater with what happens next, never dropped
 * silently. When the page is hidden or closed the queue is sent with `keepalive`.
 *
 * Offline: every pending trial's sound and pictures are fetched into memory when the page loads, so
 * the rater can keep going through all of them without a network; answers wait in the queue.
 * A reload (or the same link on another device) asks the server for the pending trials and resumes.
 */
(function () {
  "use strict";
  const config = JSON.parse(document.getElementById("rater-config").textContent);
  const queueKey = "studies-queue-" + config.token;
  const $ = (id) => document.getElementById(id);
  const audio = $("audio");
  const answers = $("answers");
  const isRating = config.kind === "rating";
  const singleImage = config.kind === "rating" || config.kind === "realism";   // one picture per trial
  const FETCH_TIMEOUT_MS = 10000;
  const SESSION_EVERY_MS = 4 * 60 * 1000;   // keeps this rater's trials reserved while the page is open
  const MAX_BACKOFF_MS = 60000;
  const PRELOAD_PARALLEL = 3;

  let trials = [];          // pending trials not yet answered on this page
  let current = null;
  let total = 0;
  let answeredCount = 0;
  let playCount = 0;
  let playedToEnd = false;
  // This trial's playback, on the server's clock: the server checks it against the sound's length
  // (preloading fetched every sound at once, so fetch times say nothing about listening).
  let soundStartedAt = null;
  let soundEndedAt = null;
  let playingTrial = null;  // the trial whose sound the audio element is playing
  let shownAt = 0;
  let flushing = false;
  let started = false;      // the first state has been loaded
  let closed = false;       // the study stopped taking answers
  let clockOffsetMs = 0;    // server clock - this clock, so answer times are on the server's clock
  let backoffMs = 1000;
  let retryTimer = null;
  const media = new Map();  // URL -> object URL of the bytes fetched ahead (works offline)

  function uuid4() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16));  // randomUUID needs a secure context
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }

  // ---------------------------------------------------------------- the queue (client id -> answer)
  function loadQueue() {
    try {
      const stored = JSON.parse(localStorage.getItem(queueKey) || "{}");
      if (Array.isArray(stored)) {  // a queue saved by an older version of this page
        return Object.fromEntries(stored.map((item) => [item.client_id, item]));
      }
      return stored && typeof stored === "object" ? stored : {};
    } catch (e) { return {}; }
  }
  function saveQueue(queue) { localStorage.setItem(queueKey, JSON.stringify(queue)); }
  function queued() { return Object.values(loadQueue()).sort((a, b) => a.queued_at - b.queued_at); }
  function enqueue(item) { const q = loadQueue(); q[item.client_id] = item; saveQueue(q); }
  function dequeue(clientId) { const q = loadQueue(); delete q[clientId]; saveQueue(q); }

  function say(text) { $("status").textContent = text; }
  function showError(text) {
    const box = $("error");
    box.textContent = text;
    box.hidden = !text;
  }
  function setOffline(on) { $("offline").hidden = !on; }

  function setProgress() {
    const bar = $("progress");
    bar.setAttribute("aria-valuemax", String(total));
    bar.setAttribute("aria-valuenow", String(answeredCount));
    $("progress-fill").style.width = total ? `${(100 * Math.min(answeredCount, total)) / total}%` : "0";
    $("progress-text").textContent = `${Math.min(answeredCount, total)} of ${total} answered`;
  }

  function setAnswerable(on) {
    answers.disabled = !on;
    answers.classList.toggle("ready", on);
  }

  // ---------------------------------------------------------------- media fetched ahead
  function mediaUrls(trial) {
    return [trial.sound_url, trial.image_url, trial.left_image_url, trial.right_image_url].filter(Boolean);
  }
  function local(url) { return media.get(url) || url; }

  async function fetchWithTimeout(url, options) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), FETCH_TIMEOUT_MS);
    try {
      return await fetch(url, { ...options, signal: controller.signal });
    } finally {
      clearTimeout(timer);
    }
  }

  async function preloadAll(list) {
    // Every pending trial's media into memory (the current trial's first), a few at a time.
    const urls = list.flatMap(mediaUrls).filter((url) => !media.has(url));
    let next = 0;
    async function worker() {
      while (next < urls.length) {
        const url = urls[next++];
        try {
          const response = await fetchWithTimeout(url, { credentials: "omit" });
          if (response.ok) media.set(url, URL.createObjectURL(await response.blob()));
        } catch (e) { /* offline or slow: this one is fetched when shown */ }
      }
    }
    await Promise.all(Array.from({ length: PRELOAD_PARALLEL }, worker));
  }

  // ---------------------------------------------------------------- trials
  function show(trial) {
    current = trial;
    playCount = 0;
    playedToEnd = false;
    soundStartedAt = soundEndedAt = playingTrial = null;
    setAnswerable(false);
    $("trial").hidden = false;
    $("practice-label").hidden = !trial.practice;
    audio.src = local(trial.sound_url);
    if (singleImage) {
      $("image").src = local(trial.image_url);
    } else {
      $("left-image").src = local(trial.left_image_url);
      $("right-image").src = local(trial.right_image_url);
    }
    shownAt = performance.now();
    say(config.require_full_playback ? "Play the sound; you can answer when it has finished." : "Play the sound.");
    $("play").focus();
  }

  function play() {
    if (!current) return;
    playCount += 1;
    audio.currentTime = 0;
    audio.playbackRate = 1;
    playingTrial = current.id;
    soundStartedAt = serverNow();   // a replay restarts the playback that counts
    soundEndedAt = null;
    const playing = audio.play();
    if (playing && playing.catch) playing.catch(() => say("Press Play to hear the sound."));
    if (!config.require_full_playback) setAnswerable(true);
  }

  function serverNow() { return new Date(Date.now() + clockOffsetMs); }

  audio.addEventListener("ended", () => {
    if (!current || playingTrial !== current.id || !soundStartedAt) return;  // not this trial's sound
    soundEndedAt = serverNow();
    playedToEnd = true;
    setAnswerable(true);
    say("You can answer now (or replay the sound).");
  });

  function answer(value) {
    if (!current || closed) return;
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
      answered_at: serverNow().toISOString(),
    };
    if (soundStartedAt) item.sound_started_at = soundStartedAt.toISOString();
    if (soundStartedAt && soundEndedAt) item.sound_ended_at = soundEndedAt.toISOString();
    if (isRating) item.rating = value; else item.choice = value;
    enqueue({ ...item, queued_at: Date.now() });   // saved locally first: a crash or reload keeps it
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
    flush();
  }

  // ---------------------------------------------------------------- sending
  function body(item) {
    const { queued_at, ...sent } = item;  // eslint-disable-line no-unused-vars
    return JSON.stringify(sent);
  }

  async function send(item, keepalive) {
    const response = await fetchWithTimeout(config.answer_url, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: body(item),
      credentials: "omit",
      keepalive: Boolean(keepalive),
    });
    let data = null;
    try { data = await response.json(); } catch (e) { data = null; }
    return { status: response.status, data, retryAfter: Number(response.headers.get("Retry-After")) || 0 };
  }

  // What the rater is told when the server refuses an answer, and what happens next.
  function refusal(result) {
    const code = result.data.code;
    if (result.status === 410) {
      return "One of your answers arrived after its trial had expired and gone to another rater, so it was not " +
             "needed. Nothing else is lost: please carry on with the next trial.";
    }
    if (code === "study_not_open") {
      return "The study closed before your last answer arrived, so it was not counted. Thank you for taking part; " +
             "you can close this page.";
    }
    if (result.status === 409) {
      return "You had already answered one of these trials (perhaps in another tab or device); your first answer " +
             "is the one kept. Please carry on.";
    }
    return `One answer was refused: ${result.data.error || "unknown reason"} Please carry on with the next trial.`;
  }

  function fromOurApi(result) { return result.data && typeof result.data.code === "string"; }
  function retryable(result) {
    if (result.status >= 500 || result.status === 408 || result.status === 429) return true;
    return result.status >= 400 && !fromOurApi(result);   // a proxy's 403/413/...: not ours, try again
  }

  function scheduleRetry(ms) {
    if (retryTimer) return;
    const wait = Math.min(MAX_BACKOFF_MS, Math.max(ms, backoffMs)) * (0.8 + 0.4 * Math.random());
    backoffMs = Math.min(MAX_BACKOFF_MS, backoffMs * 2);
    retryTimer = setTimeout(() => { retryTimer = null; flush(); }, wait);
  }

  // Send one queued answer; "stop" when the rest must wait (offline, server trouble), "refused"
  // when our API refused it (shown to the rater), "saved" otherwise.
  async function sendOne(item) {
    let result;
    try {
      result = await send(item);
    } catch (networkError) {      // offline, or no answer within the timeout
      setOffline(true);
      scheduleRetry(0);
      return "stop";
    }
    setOffline(false);
    if (retryable(result)) {
      scheduleRetry(result.retryAfter * 1000);
      return "stop";
    }
    backoffMs = 1000;
    dequeue(item.client_id);
    if (result.status >= 400) {
      showError(refusal(result));
      if (result.data.code === "study_not_open") closed = true;
      return "refused";
    }
    if (result.data && result.data.progress) total = result.data.progress.total;
    return "saved";
  }

  async function flush() {
    if (flushing) return;
    flushing = true;
    let refresh = false;
    try {
      for (let items = queued(); items.length; items = queued()) {  // answers given meanwhile go too
        for (const item of items) {
          const outcome = await sendOne(item);
          if (outcome === "stop") return;
          refresh = refresh || outcome === "refused";
        }
      }
      if (refresh || (started && !current && !trials.length)) await loadState();
    } finally {
      flushing = false;
    }
  }

  function sendOnLeave() {
    // The page is going away: hand the queue to the browser, which finishes these requests after
    // the page is gone. They stay queued here until a later visit sees them acknowledged.
    for (const item of queued()) send(item, true).catch(() => {});
  }

  // ---------------------------------------------------------------- state from the server
  async function loadState() {
    let state;
    try {
      const response = await fetchWithTimeout(config.session_url, {
        method: "POST", headers: { Accept: "application/json" }, credentials: "omit",
      });
      state = await response.json();
      if (!response.ok) {
        if (response.status === 429 || response.status >= 500) { scheduleRetry(5000); return; }
        showError(state.error || "This link is not valid.");
        return;
      }
    } catch (networkError) {
      setOffline(true);
      return;
    }
    setOffline(false);
    started = true;
    if (state.server_time) clockOffsetMs = Date.parse(state.server_time) - Date.now();
    const waiting = new Set(queued().map((item) => item.trial));
    if (current) waiting.add(current.id);
    total = state.progress.total;
    answeredCount = state.progress.answered + waiting.size - (current ? 1 : 0);
    setProgress();
    if (state.done && !queued().length) { window.location.assign(config.done_url); return; }
    if (!state.study_open || closed) {
      closed = true;
      $("trial").hidden = true;
      say("This study is closed. Thank you.");
      return;
    }
    trials = state.trials.filter((t) => !waiting.has(t.id));
    if (!current) {
      current = trials.shift() || null;
      if (current) show(current);
      else if (!queued().length && state.progress.unavailable) {
        // Trials of this rater went to others while they were away and none is free right now:
        // the page calls in again every few minutes and continues when one is.
        say("No trial is free for you right now (others took yours while you were away). Keep this page open or " +
            "come back later: you continue as soon as one is free. Your answers so far are kept.");
      } else if (!queued().length) say("No more trials.");
    }
    preloadAll(current ? [current, ...trials] : trials);
  }

  // ---------------------------------------------------------------- input
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
    if (config.kind === "realism") {
      const choice = { r: "real", R: "real", f: "fake", F: "fake" }[key];
      if (choice) { event.preventDefault(); answer(choice); }
    } else if (!isRating) {
      const choice = { ArrowLeft: "left", ArrowRight: "right", ArrowDown: "neither", n: "neither", N: "neither" }[key];
      if (choice) { event.preventDefault(); answer(choice); }
    }
  });
  window.addEventListener("online", () => { setOffline(false); backoffMs = 1000; flush(); });
  window.addEventListener("offline", () => setOffline(true));
  window.addEventListener("pagehide", sendOnLeave);
  document.addEventListener("visibilitychange", () => { if (document.visibilityState === "hidden") sendOnLeave(); });
  setInterval(() => { if (queued().length) flush(); }, 15000);
  setInterval(() => { if (started && !closed && document.visibilityState === "visible") loadState(); },
              SESSION_EVERY_MS);

  flush().then(loadState);
})();
