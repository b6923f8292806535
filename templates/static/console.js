// console.js: the one script of the console, for Copy. Without it every
// task still works (Open in mail client, or select the text by hand).
'use strict';
for (const button of document.querySelectorAll('button[data-copy]')) {
  const source = document.getElementById(button.dataset.copy);
  const status = document.getElementById('copied');
  button.hidden = false;
  button.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(source.value);
      status.textContent = button.dataset.done || 'Copied.';
    } catch (e) {
      source.select();
      status.textContent = button.dataset.failed || 'Select the text and copy it.';
    }
  });
}
