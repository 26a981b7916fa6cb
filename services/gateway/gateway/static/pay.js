// The page of a pay link (/p/{token} of an invoice): it takes a payment, all or part of what is due.
// Amounts travel as integers of the currency's minor units; what the payer types is read as text, never as a
// float. What it needs comes in the data- attributes of #pay.
const page = document.getElementById("pay").dataset;
const exponent = Number(page.exponent);
const form = document.getElementById("payment");
const state = document.getElementById("state"), result = document.getElementById("result");
const error = document.getElementById("error");

// One key per payment attempt: a retry after a lost answer is the same request (billing records it once);
// a new attempt, after an answer, gets a new key.
let attemptKey = crypto.randomUUID();

function money(minor) {
  const sign = minor < 0 ? "-" : "";
  const digits = String(Math.abs(minor)).padStart(exponent + 1, "0");
  const whole = digits.slice(0, digits.length - exponent).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return `${sign}${page.currency} ${whole}${exponent ? "." + digits.slice(digits.length - exponent) : ""}`;
}

function minorUnits(text) {
  // "1,234.5" -> 123450 for an exponent of 2; null when it is not an amount in this currency.
  const cleaned = text.trim().replace(/,/g, "");
  const match = exponent ? cleaned.match(new RegExp(`^(\\d+)(?:\\.(\\d{1,${exponent}}))?$`)) : cleaned.match(/^(\d+)$/);
  if (!match) return null;
  const value = Number(match[1] + (match[2] || "").padEnd(exponent, "0"));
  return Number.isSafeInteger(value) ? value : null;
}

function asTyped(minor) {
  const digits = String(minor).padStart(exponent + 1, "0");
  return exponent ? `${digits.slice(0, -exponent)}.${digits.slice(-exponent)}` : digits;
}

function problem(status, body) {
  if (body && body.errors) {
    const flat = [];
    const walk = (value) => Array.isArray(value) ? flat.push(...value) : Object.values(value).forEach(walk);
    walk(body.errors);
    if (flat.length) return flat.join(" ");
  }
  if (body && body.description) return body.description;
  return status === 0 ? "The connection failed; please try again." : "The payment failed; please try again.";
}

function show(invoice) {
  document.getElementById("paid").textContent = money(invoice.amount_paid);
  document.getElementById("due").textContent = money(invoice.amount_due);
  page.due = String(invoice.amount_due);
  if (form) document.getElementById("amount").value = invoice.amount_due > 0 ? asTyped(invoice.amount_due) : "";
  if (!invoice.payable) {
    if (form) form.hidden = true;
    state.className = "ok";
    state.textContent = "This invoice is paid in full. It takes no more payments. Thank you!";
  }
}

function stopTakingMoney(message) {
  if (form) form.hidden = true;
  state.className = "error";
  state.textContent = message;
}

function card() {
  const number = document.getElementById("card_number").value.replace(/[\s-]/g, "");
  const expiry = document.getElementById("card_expiry").value.trim().match(/^(\d{1,2})\s*\/\s*(\d{2}|\d{4})$/);
  const cvc = document.getElementById("card_cvc").value.trim();
  if (!/^\d{12,19}$/.test(number)) return {problem: "Please enter the card number."};
  if (!expiry) return {problem: "Please enter the expiry date as MM/YY."};
  const year = Number(expiry[2].length === 2 ? "20" + expiry[2] : expiry[2]);
  return {number, exp_month: Number(expiry[1]), exp_year: year, cvc};
}

async function pay(event) {
  event.preventDefault();
  error.textContent = "";
  result.textContent = "";
  const amount = minorUnits(document.getElementById("amount").value);
  const due = Number(page.due);
  if (amount === null || amount < 1) { error.textContent = `Please enter an amount in ${page.currency}.`; return; }
  if (amount > due) { error.textContent = `That is more than the amount due, ${money(due)}.`; return; }
  const payer = {name: document.getElementById("payer_name").value.trim(),
                 email: document.getElementById("payer_email").value.trim()};
  if (!payer.name || !payer.email) { error.textContent = "Please give your name and email."; return; }
  const body = {amount, payer};
  if (page.provider === "test") {
    const given = card();
    if (given.problem) { error.textContent = given.problem; return; }
    body.card = given;
  }
  const button = document.getElementById("pay-button");
  button.disabled = true;
  let status = 0, answer = null;
  try {
    const response = await fetch(`/api/public/links/${encodeURIComponent(page.token)}/payment`, {
      method: "POST", headers: {"Content-Type": "application/json", "Idempotency-Key": attemptKey},
      body: JSON.stringify(body)});
    status = response.status;
    answer = await response.json().catch(() => null);
  } catch (e) {
    // No answer: the same key on a retry, so a payment that did go through is not taken twice.
    error.textContent = problem(0, null);
    button.disabled = false;
    return;
  }
  attemptKey = crypto.randomUUID();
  button.disabled = false;
  if (status === 201 && answer.checkout_url) {
    window.location.assign(answer.checkout_url);
  } else if (status === 201) {
    result.textContent = `Thank you: your payment of ${money(answer.payment.amount)} was received.`;
    if (page.provider === "test") document.getElementById("card_cvc").value = "";
    show(answer.invoice);
  } else if (status === 409) {
    stopTakingMoney(problem(status, answer));
  } else {
    error.textContent = problem(status, answer);
  }
}

if (form) {
  document.getElementById("amount").value = asTyped(Number(page.due));
  form.addEventListener("submit", pay);
}
// Back from Stripe's page: the payment is recorded when Stripe confirms it, moments later.
const back = new URLSearchParams(window.location.search).get("checkout");
if (back === "complete") result.textContent = "Thank you: Stripe is confirming your payment. Reload this page in a moment to see it.";
if (back === "canceled") error.textContent = "The payment was canceled; nothing was charged.";
