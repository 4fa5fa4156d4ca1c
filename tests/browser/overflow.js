// Text that does not fit where it is shown, across shadow roots: a KPI card whose content is
// wider than the card or pokes out of it, and a page wider than the viewport (which a phone
// shows as a sideways scroll). Returns one sentence per fault.
const faults = [];
const cards = [];
(function walk(root) {
  root.querySelectorAll('.kpi').forEach(e => cards.push(e));
  root.querySelectorAll('*').forEach(e => { if (e.shadowRoot) walk(e.shadowRoot); });
})(document);
for (const card of cards) {
  const box = card.getBoundingClientRect();
  if (box.width === 0) continue;  // not shown
  if (card.scrollWidth > card.clientWidth + 1) {
    faults.push(`card "${card.getAttribute('aria-label')}" scrolls: ${card.scrollWidth} > ${card.clientWidth}`);
  }
  for (const part of card.querySelectorAll('span, svg')) {
    const r = part.getBoundingClientRect();
    if (r.width === 0) continue;
    // A nowrap value wider than its card is clipped by overflow:hidden, so compare the
    // text's own width (scrollWidth) too, not only its box.
    const wide = part.scrollWidth > Math.ceil(r.width) + 1;
    if (r.left < box.left - 1 || r.right > box.right + 1 || wide) {
      faults.push(`"${part.textContent.trim()}" overflows card "${card.getAttribute('aria-label')}" ` +
                  `(${Math.round(r.left)}-${Math.round(r.right)} in ${Math.round(box.left)}-${Math.round(box.right)})`);
    }
  }
}
const page = document.documentElement;
if (page.scrollWidth > window.innerWidth + 1) {
  faults.push(`the page is ${page.scrollWidth} px wide in a ${window.innerWidth} px viewport`);
}
if (cards.length === 0) faults.push('no KPI card on the page');
return faults;
