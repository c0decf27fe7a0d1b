// Try it: upload or record a sound, then show the image each chosen checkpoint makes from it at the
// slider's volume and the chosen seed. Images that exist come back at once; missing ones are made by a
// job whose progress is polled. Only the latest request's answer is shown (a slider moved again
// makes the earlier answers stale). Plain JS, no build step; POSTs carry Django's CSRF token.
(function () {
  "use strict";
  const POLL_MS = 300;
  const QUEUED_HINT_S = 15;  // a job still queued this long: probably no worker on its queue
  const root = document.getElementById("try");
  const csrf = root.querySelector("[name=csrfmiddlewaretoken]").value;
  const el = (id) => document.getElementById(id);
  const status = el("status"), progress = el("progress"), images = el("images");
  let sound = null;      // {id, name, duration_s, url} of the stored sound
  let latest = 0;        // number of the latest image request; older answers are ignored
  let recorder = null;

  function say(text, isError) {
    status.textContent = text;
    status.classList.toggle("error", Boolean(isError));
  }

  async function readJson(response) {
    try { return await response.json(); } catch (e) { return {}; }
  }

  function refusal(response, body) {
    if (body && body.error) return body.error;
    if (response.status === 403) return "refused (403): log in as staff again, or reload the page";
    if (response.status === 413) return "the file is too large";
    return "the server answered " + response.status;
  }

  // --- the sound ---------------------------------------------------------------------------------

  async function upload(blob, name) {
    if (blob.size > Number(root.dataset.maxBytes) * 1024 * 1024) {
      say("the file is " + (blob.size / 1048576).toFixed(1) + " MB; a sound may be at most " +
          root.dataset.maxBytes + " MB", true);
      return;
    }
    const form = new FormData();
    form.append("sound", blob, name);
    say("Uploading " + name + "...");
    let response;
    try {
      response = await fetch(root.dataset.uploadUrl, { method: "POST", body: form, credentials: "same-origin",
                                                       headers: { "X-CSRFToken": csrf } });
    } catch (e) { say("the upload failed: the network is down", true); return; }
    const body = await readJson(response);
    if (!response.ok) { say("Not used: " + refusal(response, body), true); return; }
    sound = body.sound;
    el("sound-info").hidden = false;
    el("sound-player").src = sound.url;
    el("sound-name").textContent = (sound.name || "recording") + " (" + sound.duration_s.toFixed(1) + " s, " +
      sound.format + ")";
    el("sound-name").dataset.soundId = sound.id;
    images.replaceChildren();
    requestImages();
  }

  el("upload").addEventListener("click", () => {
    const file = el("sound-file").files[0];
    if (!file) { say("Choose a file first.", true); return; }
    upload(file, file.name);
  });
  el("sound-file").addEventListener("change", () => { if (el("sound-file").files[0]) el("upload").click(); });

  function recordingType() {
    for (const type of ["audio/webm;codecs=opus", "audio/webm", "audio/ogg;codecs=opus", "audio/ogg"]) {
      if (window.MediaRecorder && MediaRecorder.isTypeSupported(type)) return type;
    }
    return "";
  }

  async function startRecording() {
    if (!navigator.mediaDevices || !window.MediaRecorder) {
      say("this browser cannot record (MediaRecorder is missing); upload a file instead", true);
      return;
    }
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    } catch (e) { say("no microphone: " + e.message, true); return; }
    const type = recordingType();
    recorder = new MediaRecorder(stream, type ? { mimeType: type } : undefined);
    const chunks = [], started = Date.now(), limit = Number(root.dataset.maxSeconds) * 1000 - 500;
    const timer = setInterval(() => {
      const ms = Date.now() - started;
      el("record-time").textContent = (ms / 1000).toFixed(1) + " s";
      if (ms >= limit) stopRecording();  // the server takes at most max_seconds
    }, 100);
    recorder.addEventListener("dataavailable", (event) => { if (event.data.size) chunks.push(event.data); });
    recorder.addEventListener("stop", () => {
      clearInterval(timer);
      stream.getTracks().forEach((track) => track.stop());
      el("record").textContent = "Record";
      el("record").classList.remove("recording");
      const blobType = recorder.mimeType || type || "audio/webm";
      recorder = null;
      upload(new Blob(chunks, { type: blobType }), "recording." + (blobType.includes("ogg") ? "ogg" : "webm"));
    });
    recorder.start(250);
    el("record").textContent = "Stop";
    el("record").classList.add("recording");
    say("Recording... press Stop when done.");
  }

  function stopRecording() { if (recorder && recorder.state !== "inactive") recorder.stop(); }

  el("record").addEventListener("click", () => (recorder ? stopRecording() : startRecording()));

  // --- volume, seed, checkpoints ------------------------------------------------------------------

  function volume() { return Math.round(Math.pow(10, Number(el("volume").value)) * 100) / 100; }
  function showVolume() { el("volume-value").textContent = volume() + "x"; }
  el("volume").addEventListener("input", showVolume);
  el("volume").addEventListener("change", requestImages);
  el("seed").addEventListener("change", requestImages);
  el("new-seed").addEventListener("click", () => {
    el("seed").value = Math.floor(Math.random() * 2147483647);
    requestImages();
  });
  for (const box of document.querySelectorAll("#checkpoints input")) box.addEventListener("change", requestImages);
  showVolume();

  function query() {
    const params = new URLSearchParams();
    params.append("sound", sound.id);
    for (const box of document.querySelectorAll("#checkpoints input:checked")) params.append("checkpoint", box.value);
    params.append("volume", volume());
    params.append("seed", el("seed").value);
    return params;
  }

  // --- images -------------------------------------------------------------------------------------

  function render(answer) {
    const keep = new Map();
    for (const figure of images.querySelectorAll("figure")) keep.set(figure.dataset.checkpoint, figure);
    const shown = [];
    for (const entry of answer.images) {
      let figure = keep.get(String(entry.checkpoint));
      if (!figure) {
        figure = document.createElement("figure");
        figure.dataset.checkpoint = entry.checkpoint;
        const img = document.createElement("img");
        img.alt = "image from checkpoint " + entry.checkpoint;
        figure.append(img, document.createElement("figcaption"));
      }
      const img = figure.querySelector("img");
      if (entry.url) {  // until a new image exists the previous one stays, dimmed
        img.src = entry.url;
        img.dataset.volume = answer.volume;
        img.dataset.seed = answer.seed;
      }
      figure.classList.toggle("pending", !entry.url);
      figure.querySelector("figcaption").textContent = "checkpoint #" + entry.checkpoint + ": " + entry.label +
        " · volume " + answer.volume + "x · seed " + answer.seed;
      shown.push(figure);
    }
    images.replaceChildren(...shown);
  }

  async function requestImages() {
    if (!sound) return;
    const number = ++latest;
    const params = query();
    progress.hidden = true;
    say("Asking for the images...");
    let response;
    try {
      response = await fetch(root.dataset.imagesUrl, {
        method: "POST", body: params, credentials: "same-origin", headers: { "X-CSRFToken": csrf } });
    } catch (e) { if (number === latest) say("the network is down; try again", true); return; }
    const body = await readJson(response);
    if (number !== latest) return;
    if (!response.ok) { say(refusal(response, body), true); return; }
    render(body);
    if (!body.job) { say("Done."); return; }
    say("Making the images (job #" + body.job.id + ")...");
    progress.hidden = false;
    progress.value = 0;
    follow(body.job.id, number, params);
  }

  async function follow(jobId, number, params) {
    const started = Date.now();
    while (number === latest) {
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      if (number !== latest) return;
      let job;
      try {
        const response = await fetch(root.dataset.progressUrl + "?ids=" + jobId, { credentials: "same-origin" });
        if (!response.ok) continue;
        job = (await response.json()).jobs[0];
      } catch (e) { continue; }  // offline for a moment: ask again at the next tick
      if (!job || number !== latest) return;
      progress.value = job.progress;
      if (!job.finished) {
        const waited = Math.round((Date.now() - started) / 1000);
        say(job.status === "queued" && waited >= QUEUED_HINT_S
          ? "Job #" + jobId + " has waited " + waited + " s for a worker: is one serving the gpu queue?"
          : "Making the images: " + job.status + (job.message ? ", " + job.message : ""));
        continue;
      }
      progress.hidden = true;
      if (job.status !== "succeeded") { say("The job " + job.status + ": " + job.message, true); return; }
      const response = await fetch(root.dataset.imagesUrl + "?" + params, { credentials: "same-origin" });
      const body = await readJson(response);
      if (number !== latest) return;
      if (!response.ok) { say(refusal(response, body), true); return; }
      render(body);
      say("Done.");
      return;
    }
  }
})();
