// Draws a PDF into the page with pdf.js (vendored in /static/pdfjs, Apache-2.0): one canvas per page, no
// external viewer, nothing loaded from another site. Used by the share and approval pages.
import * as pdfjs from "/static/pdfjs/pdf.min.mjs";

pdfjs.GlobalWorkerOptions.workerSrc = "/static/pdfjs/pdf.worker.min.mjs";

// Draws every page of the PDF at `url` into `container` (a .pdf-pages element), fitted to its width.
// Resolves with the number of pages; `container.dataset.pages` says it too once all are drawn.
export async function showPdf(container, url) {
  // No eval (the page's policy forbids it); one plain GET, counted once, rather than range requests.
  const pdf = await pdfjs.getDocument({url, isEvalSupported: false, disableRange: true, disableStream: true}).promise;
  const width = Math.max(container.clientWidth - 24, 280);
  const scale = window.devicePixelRatio || 1;
  for (let number = 1; number <= pdf.numPages; number++) {
    const page = await pdf.getPage(number);
    const fitted = page.getViewport({scale: width / page.getViewport({scale: 1}).width});
    const canvas = document.createElement("canvas");
    canvas.width = Math.floor(fitted.width * scale);
    canvas.height = Math.floor(fitted.height * scale);
    canvas.style.width = `${Math.floor(fitted.width)}px`;
    canvas.setAttribute("role", "img");
    canvas.setAttribute("aria-label", `Page ${number} of ${pdf.numPages}`);
    container.appendChild(canvas);
    await page.render({canvas, canvasContext: canvas.getContext("2d"), viewport: fitted,
                       transform: scale !== 1 ? [scale, 0, 0, scale, 0, 0] : null}).promise;
  }
  container.dataset.pages = String(pdf.numPages);
  return pdf.numPages;
}
