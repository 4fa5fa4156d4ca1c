const unlabelled = [];
(function visit(root) {
  root.querySelectorAll('*').forEach(e => {
    if (e.shadowRoot) visit(e.shadowRoot);
    if (!e.matches('input:not([type=hidden]), select, textarea, button')) return;
    const r = e.getBoundingClientRect(); if (r.width === 0 || r.height === 0) return;
    const byLabel = e.labels && Array.from(e.labels).some(l => l.textContent.trim());
    const named = (e.getAttribute('aria-label') || '').trim() || (e.getAttribute('title') || '').trim();
    const labelledBy = e.getAttribute('aria-labelledby');
    const text = e.matches('button') && e.textContent.trim();
    if (!(byLabel || named || labelledBy || text)) unlabelled.push(e.outerHTML.slice(0, 120));
  });
})(document);
return unlabelled;
