// The inbox follows its live stream: each change reloads the table (htmx swaps it in).
document.addEventListener("DOMContentLoaded", () => {
  const inbox = document.getElementById("inbox");
  if (!inbox || !window.EventSource) return;
  const stream = new EventSource(inbox.dataset.stream);
  const live = document.getElementById("live");
  stream.addEventListener("open", () => { if (live) live.hidden = false; });
  stream.addEventListener("error", () => { if (live) live.hidden = true; });
  stream.addEventListener("inbox", () => {
    htmx.ajax("GET", inbox.dataset.rows, { target: "#inbox", swap: "innerHTML" });
  });
});
