// The page of a share link (/p/{token} of a share): "View" shows a PDF (drawn by pdf.js) or an image in the
// page, under its button; downloads are plain links. Counting opens and downloads is the server's business.
import {showPdf} from "/static/pdfview.js";

const error = document.getElementById("error");

async function show(button, viewer) {
  const src = button.dataset.src;
  viewer.replaceChildren();
  if (button.closest(".document").dataset.contentType === "application/pdf") {
    const pages = document.createElement("div");
    pages.className = "pdf-pages";
    viewer.appendChild(pages);
    await showPdf(pages, src);
  } else {
    const image = document.createElement("img");
    image.alt = button.dataset.name;
    await new Promise((resolve, reject) => { image.onload = resolve; image.onerror = reject; image.src = src; });
    viewer.appendChild(image);
  }
  viewer.dataset.shown = "true";
}

for (const button of document.querySelectorAll("button.view")) {
  const viewer = document.getElementById(button.getAttribute("aria-controls"));
  button.addEventListener("click", async () => {
    error.textContent = "";
    const opening = viewer.hidden;
    viewer.hidden = !opening;
    button.setAttribute("aria-expanded", String(opening));
    button.firstChild.textContent = opening ? "Hide " : "View ";
    if (!opening || viewer.dataset.shown) return;
    try {
      await show(button, viewer);
    } catch (e) {
      viewer.hidden = true;
      button.setAttribute("aria-expanded", "false");
      button.firstChild.textContent = "View ";
      error.textContent = "This document could not be shown; please download it instead.";
    }
  });
}
