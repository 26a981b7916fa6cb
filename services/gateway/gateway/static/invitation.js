// The invitation page (/p/{token} of an invitation): choose a password, accept, land where the user belongs.
const form = document.getElementById("accept");
form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const error = document.getElementById("error");
  error.textContent = "";
  const resp = await fetch(form.dataset.acceptUrl, {
    method: "POST", headers: {"Content-Type": "application/json"},
    body: JSON.stringify({password: document.getElementById("password").value}),
  });
  const body = await resp.json().catch(() => ({}));
  if (!resp.ok) {
    const fields = body.errors ? Object.values(body.errors).flat().join(" ") : "";
    error.textContent = fields || body.description || "Something went wrong; please try again.";
    return;
  }
  sessionStorage.setItem("porta_token", body.token);
  if (body.user.kind === "client") {
    window.location.replace("/portal");
    return;
  }
  // A team member: no staff page is served here, so the page says it worked and how to log in.
  form.hidden = true;
  document.getElementById("intro").hidden = true;
  document.getElementById("activated-email").textContent = body.user.email;
  document.getElementById("activated").hidden = false;
});
