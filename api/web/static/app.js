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

// The record's time slider: the label follows the slider; letting go shows that moment.
document.addEventListener("DOMContentLoaded", () => {
  const slider = document.getElementById("event");
  const label = document.getElementById("event-label");
  if (!slider || !label) return;
  const labels = (slider.dataset.labels || "").split("|");
  slider.addEventListener("input", () => {
    label.textContent = labels[Number(slider.value) - 1] || slider.value;
  });
  slider.addEventListener("change", () => {
    const moment = document.getElementById("as_of");
    if (moment) moment.value = "";
    slider.form.requestSubmit();
  });
});
