// The client portal's page (/portal): the accounts shared with the user whose token the invitation or
// login left in sessionStorage.
(async () => {
  const list = document.getElementById("accounts");
  const token = sessionStorage.getItem("porta_token");
  const resp = token ? await fetch("/portal/v1/accounts", {headers: {Authorization: "Bearer " + token}}) : null;
  if (!resp || !resp.ok) {
    list.innerHTML = "";
    document.getElementById("error").textContent = "Please log in again.";
    return;
  }
  const {items} = await resp.json();
  list.innerHTML = "";
  for (const account of items) {
    const item = document.createElement("li");
    item.textContent = account.name;
    list.appendChild(item);
  }
  if (!items.length) list.innerHTML = '<li class="muted">No account is shared with you yet.</li>';
})();
