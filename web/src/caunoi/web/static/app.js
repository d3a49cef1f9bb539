// caunoi web: a little keyboard help, nothing the pages need to work.
//  - "/" focuses the search box, "n" opens intake (outside text fields)
//  - in a form marked data-submit-keys: Ctrl+Enter submits, Alt+Enter presses its "again" button
//  - a submitted form's buttons are disabled so a double click sends it once (the command id
//    in the form makes a repeat harmless anyway)
document.addEventListener("keydown", (e) => {
  const t = e.target;
  const typing = t instanceof HTMLInputElement || t instanceof HTMLTextAreaElement || t instanceof HTMLSelectElement;
  if (!typing && !e.ctrlKey && !e.metaKey && !e.altKey) {
    if (e.key === "/") {
      const search = document.querySelector("[data-key='/']");
      if (search) { e.preventDefault(); search.focus(); }
    } else if (e.key === "n") {
      const link = document.querySelector("a[data-key='n']");
      if (link) { e.preventDefault(); link.click(); }
    }
    return;
  }
  if (e.key === "Enter" && (e.ctrlKey || e.metaKey || e.altKey)) {
    const form = t.closest && t.closest("form[data-submit-keys]");
    if (!form) return;
    e.preventDefault();
    const again = e.altKey ? form.querySelector("button[name='again']") : null;
    form.requestSubmit(again || undefined);
  }
});
document.addEventListener("submit", (e) => {
  const form = e.target;
  setTimeout(() => form.querySelectorAll("button[type='submit'], button:not([type])").forEach((b) => { b.disabled = true; }), 0);
});
