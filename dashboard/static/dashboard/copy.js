// Ids stay one click away: a [data-copy-button] copies its value to the clipboard (issue 24).
document.addEventListener("click", function (event) {
  var button = event.target.closest("[data-copy-button]");
  if (!button || !navigator.clipboard) return;
  event.preventDefault();
  navigator.clipboard.writeText(button.dataset.copyButton).then(function () {
    button.textContent = button.dataset.copied || "Copied";
  });
});
