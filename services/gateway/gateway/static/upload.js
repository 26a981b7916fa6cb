// The page of an upload link (/p/{token} of a file request): it takes files and says "done uploading";
// it never lists the folder. What it needs comes in the data- attributes of #upload.
const page = document.getElementById("upload").dataset;
const token = page.token;
const askUploader = page.askUploader === "true";
const drop = document.getElementById("drop"), picker = document.getElementById("picker");
const list = document.getElementById("files"), error = document.getElementById("error");
const doneButton = document.getElementById("done"), doneNote = document.getElementById("done-note");

function who() {
  return {uploader_name: document.getElementById("uploader_name").value.trim(),
          uploader_email: document.getElementById("uploader_email").value.trim()};
}

function problem(xhr) {
  try {
    const body = JSON.parse(xhr.responseText);
    const fields = body.errors ? Object.values(body.errors).flat().join(" ") : "";
    return fields || body.description || body.title;
  } catch (e) { return "The upload failed; please try again."; }
}

function upload(file) {
  const row = document.createElement("div");
  row.className = "file";
  row.innerHTML = '<div class="name"><span></span><span class="state muted">waiting</span></div><progress max="100" value="0"></progress>';
  row.querySelector(".name span").textContent = file.name;
  list.appendChild(row);
  const state = row.querySelector(".state"), bar = row.querySelector("progress");
  const params = new URLSearchParams({filename: file.name});
  if (askUploader) { const w = who(); params.set("uploader_name", w.uploader_name); params.set("uploader_email", w.uploader_email); }
  const xhr = new XMLHttpRequest();
  xhr.open("POST", `/api/public/links/${encodeURIComponent(token)}/files?${params}`);
  xhr.upload.onprogress = (e) => { if (e.lengthComputable) { bar.value = Math.round(100 * e.loaded / e.total); state.textContent = `${bar.value}%`; } };
  xhr.onload = () => {
    if (xhr.status === 200 || xhr.status === 201) {
      const item = JSON.parse(xhr.responseText).items[0];
      bar.value = 100;
      state.className = "state ok";
      state.textContent = item.duplicate
        ? `Already received on ${new Date(item.received_at).toLocaleDateString()}`
        : "Received";
      doneButton.hidden = false;
      doneNote.textContent = "";
    } else {
      state.className = "state error";
      state.textContent = problem(xhr);
    }
  };
  xhr.onerror = () => { state.className = "state error"; state.textContent = "The connection failed; please try again."; };
  state.textContent = "uploading";
  xhr.send(file);
}

function take(files) {
  error.textContent = "";
  if (askUploader) {
    const w = who();
    if (!w.uploader_name || !w.uploader_email) { error.textContent = "Please give your name and email first."; return; }
  }
  for (const file of files) upload(file);
}

drop.addEventListener("click", () => picker.click());
drop.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") picker.click(); });
picker.addEventListener("change", () => { take(picker.files); picker.value = ""; });
drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (e) => { e.preventDefault(); drop.classList.remove("over"); take(e.dataTransfer.files); });

doneButton.addEventListener("click", async () => {
  const resp = await fetch(`/api/public/links/${encodeURIComponent(token)}/done`, {
    method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(askUploader ? who() : {}),
  });
  if (resp.ok) {
    doneButton.hidden = true;
    doneNote.textContent = `Thank you. ${page.firmName} has been told you are done.`;
  } else {
    const body = await resp.json().catch(() => ({}));
    error.textContent = body.description || "Something went wrong; please try again.";
  }
});
