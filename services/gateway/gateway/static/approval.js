// The page of an approval link (/p/{token} of an approval): draws the PDF in the page (pdf.js, no external
// viewer), then sends "approved" or "disapproved" with a comment (required to disapprove).
import {showPdf} from "/static/pdfview.js";

const page = document.getElementById("approval").dataset;
const form = document.getElementById("decision"), error = document.getElementById("error");
const comment = document.getElementById("comment"), decided = document.getElementById("decided");

if (page.shown === "pdf") {
  const container = document.getElementById("document");
  showPdf(container, page.content).catch(() => {
    container.textContent = "The document could not be shown here; please download it below.";
  });
}

function problem(body) {
  const fields = body.errors ? Object.values(body.errors).flat().join(" ") : "";
  return fields || body.description || body.title || "Something went wrong; please try again.";
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  error.textContent = "";
  const decision = event.submitter ? event.submitter.value : "approved";
  const text = comment.value.trim();
  if (decision === "disapproved" && !text) {
    error.textContent = "Please say in the comment what should change.";
    comment.focus();
    return;
  }
  for (const button of form.querySelectorAll("button")) button.disabled = true;
  const resp = await fetch(`/api/public/links/${encodeURIComponent(page.token)}/approval`, {
    method: "POST", headers: {"Content-Type": "application/json"},
    body: JSON.stringify({decision, comment: text || null}),
  }).catch(() => null);
  const body = resp ? await resp.json().catch(() => ({})) : {};
  if (!resp || !resp.ok) {
    for (const button of form.querySelectorAll("button")) button.disabled = false;
    error.textContent = resp ? problem(body) : "The connection failed; please try again.";
    return;
  }
  document.getElementById("decide").hidden = true;
  decided.textContent = decision === "approved"
    ? "You approved this document. Thank you."
    : "You disapproved this document. The firm has your comment.";
  decided.hidden = false;
  decided.focus();
});
