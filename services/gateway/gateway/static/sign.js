// The page of a signing link (/p/{token} of a signature request): draws the PDF in the page (pdf.js through
// pdfview.js), then signs with the typed name and an explicit consent, or declines with a reason.
import {showPdf} from "/static/pdfview.js";

const root = document.getElementById("sign");
const token = root.dataset.token;
const base = `/api/public/links/${encodeURIComponent(token)}`;
const error = document.getElementById("error");
const pages = document.getElementById("pages");

function problem(body, fallback) {
  if (body && body.errors) {
    const messages = Object.values(body.errors).flat().filter((m) => typeof m === "string");
    if (messages.length) return messages.join(" ");
  }
  return (body && (body.description || body.title)) || fallback;
}

async function post(path, payload) {
  const resp = await fetch(`${base}/${path}`, {
    method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(payload),
  });
  const body = await resp.json().catch(() => ({}));
  return {ok: resp.ok, status: resp.status, body};
}

function closeForms() {
  for (const id of ["sign-form", "decline-box"]) {
    const element = document.getElementById(id);
    if (element) element.remove();
  }
}

showPdf(pages, pages.dataset.src)
  .then(() => { document.getElementById("loading")?.remove(); pages.setAttribute("aria-busy", "false"); })
  .catch(() => {
    pages.setAttribute("aria-busy", "false");
    document.getElementById("loading").textContent =
      "The document could not be shown here. Use “Open the PDF on its own” below.";
  });

const signForm = document.getElementById("sign-form");
if (signForm) {
  signForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    const name = document.getElementById("signed-name").value.trim();
    const agree = document.getElementById("agree").checked;
    if (!name) { error.textContent = "Type your name to sign."; document.getElementById("signed-name").focus(); return; }
    if (!agree) { error.textContent = "Tick the box to agree to sign."; document.getElementById("agree").focus(); return; }
    const button = document.getElementById("sign-button");
    button.disabled = true;
    const answer = await post("signature", {name, agree});
    if (answer.ok) {
      closeForms();
      const note = document.getElementById("signed-note");
      note.hidden = false;
      note.focus?.();
    } else {
      button.disabled = false;
      error.textContent = problem(answer.body, "Signing failed; please try again.");
    }
  });
}

const declineForm = document.getElementById("decline-form");
if (declineForm) {
  declineForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    const reason = document.getElementById("reason").value.trim();
    if (!reason) { error.textContent = "Say why you decline."; document.getElementById("reason").focus(); return; }
    const button = document.getElementById("decline-button");
    button.disabled = true;
    const answer = await post("decline", {reason});
    if (answer.ok) {
      closeForms();
      document.getElementById("declined-note").hidden = false;
    } else {
      button.disabled = false;
      error.textContent = problem(answer.body, "Declining failed; please try again.");
    }
  });
}
