// The page of a client request's link (/p/{token}): answers are saved as the person types (a short pause
// after the last change, and at once when the page is hidden or closed), files are uploaded per question,
// and "Send my answers" submits. What it needs comes in the data- attributes of #questionnaire.
const page = document.getElementById("questionnaire").dataset;
const base = `/api/public/links/${encodeURIComponent(page.token)}`;
const form = document.getElementById("answers");
const saveState = document.getElementById("save-state");
const error = document.getElementById("error");
const SAVE_AFTER_MS = 700;

let pending = {};       // question id -> value not sent yet
let timer = null;
let inFlight = Promise.resolve();
let closed = page.status !== "sent";

function question(id) { return document.getElementById(`q-${id}`); }

function valueOf(box) {
  const id = box.dataset.questionId, kind = box.dataset.kind;
  if (kind === "yes_no" || kind === "choice") {
    const checked = box.querySelector("input[type=radio]:checked");
    if (!checked) return null;
    return kind === "yes_no" ? checked.value === "yes" : checked.value;
  }
  if (kind === "file") {
    return Array.from(document.querySelectorAll(`#files-${id} li`)).map((li) => li.dataset.documentId);
  }
  const input = document.getElementById(`a-${id}`);
  if (kind === "number") {
    if (input.validity.badInput) return undefined;  // half-typed ("1e"): wait for a number
    return input.value === "" ? null : Number(input.value);
  }
  return input.value.trim() === "" ? null : input.value;
}

function showErrors(errors) {
  for (const [id, messages] of Object.entries(errors || {})) {
    const box = question(id);
    if (!box) continue;
    box.classList.add("invalid");
    document.getElementById(`error-${id}`).textContent = [].concat(messages).join(" ");
  }
}

function clearError(id) {
  const box = question(id);
  if (!box) return;
  box.classList.remove("invalid");
  document.getElementById(`error-${id}`).textContent = "";
}

function lock(status) {
  closed = true;
  clearTimeout(timer);
  for (const element of form.querySelectorAll("input, textarea, fieldset, button")) element.disabled = true;
  const submit = document.getElementById("submit");
  if (submit) submit.hidden = true;
  for (const element of form.querySelectorAll("label.pick, input[type=file], .remove")) element.hidden = true;
  if (status === "submitted") document.getElementById("submitted-note").hidden = false;
}

async function problem(resp) {
  const body = await resp.json().catch(() => ({}));
  if (resp.status === 410) {
    lock("gone");
    return "This link no longer works: the request was canceled or has expired.";
  }
  if (resp.status === 409) {
    lock("submitted");
    return body.description || "These answers were sent already.";
  }
  if (resp.status === 422 && body.errors && body.errors.answers) {
    showErrors(body.errors.answers);
    return body.description || "Some answers need a look.";
  }
  return body.description || body.title || "Something went wrong; please try again.";
}

function send(body, keepalive = false) {
  return fetch(`${base}/answers`, {method: "POST", headers: {"Content-Type": "application/json"},
                                   body: JSON.stringify(body), keepalive});
}

function save() {
  clearTimeout(timer);
  const answers = pending;
  pending = {};
  if (closed || Object.keys(answers).length === 0) return inFlight;
  saveState.textContent = "Saving…";
  inFlight = inFlight.then(async () => {
    try {
      const resp = await send({answers});
      if (resp.ok) {
        for (const id of Object.keys(answers)) clearError(id);
        saveState.textContent = "All changes saved.";
      } else {
        saveState.textContent = "Not saved.";
        error.textContent = await problem(resp);
      }
    } catch (e) {
      pending = {...answers, ...pending};  // try again with the next change or on submit
      saveState.textContent = "Not saved: the connection failed. Your answers will be sent again.";
    }
  });
  return inFlight;
}

function changed(event) {
  const box = event.target.closest(".question");
  if (!box || closed || box.dataset.kind === "file") return;
  const value = valueOf(box);
  if (value === undefined) return;
  pending[box.dataset.questionId] = value;
  error.textContent = "";
  clearTimeout(timer);
  timer = setTimeout(save, SAVE_AFTER_MS);
}

form.addEventListener("input", changed);
form.addEventListener("change", changed);

// Leaving the page (tab closed, app switched on a phone): what is not saved yet goes now.
function flush() {
  if (closed || Object.keys(pending).length === 0) return;
  clearTimeout(timer);
  send({answers: pending}, true).catch(() => {});
  pending = {};
}
document.addEventListener("visibilitychange", () => { if (document.visibilityState === "hidden") flush(); });
window.addEventListener("pagehide", flush);

// -- files -----------------------------------------------------------------------------------------

function fileRow(id, file) {
  const li = document.createElement("li");
  li.dataset.documentId = file.id;
  const name = document.createElement("span");
  name.className = "name";
  name.textContent = file.name;
  const remove = document.createElement("button");
  remove.type = "button";
  remove.className = "secondary remove";
  remove.textContent = "Remove";
  const hidden = document.createElement("span");
  hidden.className = "visually-hidden";
  hidden.textContent = ` ${file.name}`;
  remove.appendChild(hidden);
  li.append(name, " ", remove);
  document.getElementById(`files-${id}`).appendChild(li);
}

async function upload(id, files) {
  const state = document.getElementById(`upload-state-${id}`);
  clearError(id);
  for (const file of files) {
    state.textContent = `Uploading ${file.name}…`;
    const params = new URLSearchParams({question_id: id, filename: file.name});
    try {
      const resp = await fetch(`${base}/files?${params}`, {method: "POST", body: file,
                                                           headers: {"Content-Type": "application/octet-stream"}});
      if (!resp.ok) {
        const body = await resp.json().catch(() => ({}));
        if (resp.status === 409 || resp.status === 410) { error.textContent = await problem(resp); return; }
        state.textContent = "";
        document.getElementById(`error-${id}`).textContent =
          `${file.name}: ${body.description || body.title || "not uploaded"}`;
        continue;
      }
      for (const item of (await resp.json()).items) fileRow(id, item);
      state.textContent = `${file.name} uploaded.`;
    } catch (e) {
      state.textContent = `${file.name}: the connection failed; please try again.`;
    }
  }
}

for (const box of form.querySelectorAll(".question[data-kind=file]")) {
  const id = box.dataset.questionId;
  const input = document.getElementById(`a-${id}`);
  if (input) input.addEventListener("change", async () => { const files = Array.from(input.files); input.value = ""; await upload(id, files); });
  box.addEventListener("click", (event) => {
    const remove = event.target.closest(".remove");
    if (!remove || closed) return;
    remove.closest("li").remove();
    pending[id] = valueOf(box);
    save();
    const pick = document.getElementById(`a-${id}`);
    if (pick) pick.focus();
  });
}

// -- submit ----------------------------------------------------------------------------------------

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (closed) return;
  error.textContent = "";
  for (const box of form.querySelectorAll(".question")) clearError(box.dataset.questionId);
  // Every answer as the page shows it, so what is sent is what the person sees.
  for (const box of form.querySelectorAll(".question")) {
    const value = valueOf(box);
    if (value !== undefined) pending[box.dataset.questionId] = value;
  }
  // Saved first, on their own: a submit refused (a required question left blank) still keeps them.
  await save();
  if (closed) return;
  const button = document.getElementById("submit");
  button.disabled = true;
  try {
    const resp = await send({submit: true});
    if (resp.ok) {
      lock("submitted");
      saveState.textContent = "";
      document.getElementById("submitted-note").focus();
      return;
    }
    error.textContent = await problem(resp);
    const first = form.querySelector(".question.invalid input, .question.invalid textarea");
    if (first) first.focus();
  } catch (e) {
    error.textContent = "The connection failed; please try again.";
  } finally {
    if (!closed) button.disabled = false;
  }
});

if (closed) lock(page.status);
