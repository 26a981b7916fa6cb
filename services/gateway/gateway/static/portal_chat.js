// The client portal's chat page (/portal/accounts/{account}/chats/{thread}): the thread's messages and tasks,
// read with the token the login or invitation left in sessionStorage; new messages and task changes arrive on
// the portal's event stream (/portal/v1/stream, read with fetch so that the token travels in a header).
(() => {
  const root = document.getElementById("chat");
  const accountId = root.dataset.accountId;
  const threadId = root.dataset.threadId;
  const base = `/portal/v1/accounts/${accountId}/chats/${threadId}`;
  const token = sessionStorage.getItem("porta_token");
  const headers = {Authorization: "Bearer " + token};
  const error = document.getElementById("error");
  const live = document.getElementById("live");
  const list = document.getElementById("messages");
  const tasks = document.getElementById("tasks");
  const shown = new Set();

  function say(text) { error.textContent = text; }

  function addMessage(message) {
    if (shown.has(message.id)) return;
    shown.add(message.id);
    const item = document.createElement("li");
    item.className = message.author.kind;
    const meta = document.createElement("div");
    meta.className = "meta";
    meta.textContent = `${message.author.name || (message.author.kind === "client" ? "You" : "Your firm")} · ` +
      new Date(message.created_at).toLocaleString();
    const body = document.createElement("div");
    body.className = "body";
    body.innerHTML = message.body_html;  // rendered and sanitised by the chats service
    item.append(meta, body);
    list.appendChild(item);
  }

  function showTask(task) {
    document.getElementById("tasks-section").hidden = false;
    let box = document.getElementById("task-" + task.id);
    if (!box) {
      const item = document.createElement("li");
      const label = document.createElement("label");
      box = document.createElement("input");
      box.type = "checkbox";
      box.id = "task-" + task.id;
      box.addEventListener("change", () => tick(task.id, box));
      const title = document.createElement("span");
      label.append(box, title);
      item.appendChild(label);
      tasks.appendChild(item);
    }
    box.checked = task.done;
    box.nextElementSibling.textContent = task.title;
  }

  async function tick(taskId, box) {
    const resp = await fetch(`${base}/tasks/${taskId}`, {
      method: "PATCH", headers: {...headers, "Content-Type": "application/json"},
      body: JSON.stringify({done: box.checked}),
    });
    if (!resp.ok) {
      box.checked = !box.checked;
      say("The task could not be changed; please try again.");
    }
  }

  async function load() {
    const [threads, messages] = await Promise.all([
      fetch(`/portal/v1/accounts/${accountId}/chats?limit=200`, {headers}),
      fetch(`${base}/messages?limit=200`, {headers}),
    ]);
    if (!threads.ok || !messages.ok) {
      say(threads.status === 401 ? "Please log in again." : "This chat cannot be shown.");
      return false;
    }
    const thread = (await threads.json()).items.find((t) => t.id === threadId);
    if (!thread) { say("This chat cannot be shown."); return false; }
    document.getElementById("subject").textContent = thread.subject;
    thread.tasks.forEach(showTask);
    (await messages.json()).items.slice().reverse().forEach(addMessage);  // the API lists newest first
    fetch(`${base}/read`, {method: "POST", headers});
    return true;
  }

  function handle(name, data) {
    if (name === "ready") { live.textContent = "Live"; live.className = "on"; return; }
    if (name === "end") {
      live.textContent = "Not live: please log in again.";
      live.className = "muted";
      return "stop";
    }
    if (name === "message" && data.thread.id === threadId) {
      addMessage(data.message);
      if (data.message.author.kind !== "client") fetch(`${base}/read`, {method: "POST", headers});
    }
    if (name === "task" && data.thread.id === threadId) {
      if (data.change === "deleted") document.getElementById("task-" + data.task.id)?.closest("li")?.remove();
      else showTask(data.task);
    }
  }

  // Server-Sent Events over fetch: blocks separated by a blank line, `event:` and `data:` lines in each.
  async function listen() {
    let resp;
    try {
      resp = await fetch("/portal/v1/stream", {headers: {...headers, Accept: "text/event-stream"}});
    } catch (e) { resp = null; }
    if (!resp || !resp.ok) {
      live.textContent = "Not live: reload the page to try again.";
      live.className = "muted";
      return;
    }
    const reader = resp.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const {value, done} = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, {stream: true}).replace(/\r\n/g, "\n");
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let name = "message", data = "";
        for (const line of block.split("\n")) {
          if (line.startsWith("event:")) name = line.slice(6).trim();
          else if (line.startsWith("data:")) data += line.slice(5).trim();
        }
        if (!data) continue;  // a keep-alive comment
        if (handle(name, JSON.parse(data)) === "stop") return;
      }
    }
    live.textContent = "Reconnecting…";
    live.className = "muted";
    setTimeout(listen, 3000);
  }

  document.getElementById("reply").addEventListener("submit", async (event) => {
    event.preventDefault();
    say("");
    const field = document.getElementById("body");
    const resp = await fetch(`${base}/messages`, {
      method: "POST", headers: {...headers, "Content-Type": "application/json"},
      body: JSON.stringify({body: field.value}),
    });
    if (!resp.ok) { say("Your reply could not be sent; please try again."); return; }
    addMessage(await resp.json());
    field.value = "";
  });

  if (!token) { say("Please log in again."); return; }
  load().then((ok) => { if (ok) listen(); });
})();
