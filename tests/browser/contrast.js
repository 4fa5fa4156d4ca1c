const failures = [];
function parse(c) { const m = c.match(/rgba?\(([^)]+)\)/); if (!m) return null;
  const p = m[1].split(',').map(x => parseFloat(x)); return {r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1}; }
function lum(c) { const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
  return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b); }
function parentOf(e) { return e.parentElement || (e.getRootNode() && e.getRootNode().host) || null; }
function background(e) { let n = e; while (n) { const c = parse(getComputedStyle(n).backgroundColor);
  if (c && c.a > 0.5) return c; n = parentOf(n); } return {r: 255, g: 255, b: 255, a: 1}; }
function visit(root) {
  root.querySelectorAll('*').forEach(e => {
    if (e.shadowRoot) visit(e.shadowRoot);
    const own = Array.from(e.childNodes).some(n => n.nodeType === 3 && n.textContent.trim());
    if (!own) return;
    const s = getComputedStyle(e);
    if (s.visibility === 'hidden' || s.display === 'none' || e.closest('[disabled]') || e.disabled) return;
    const r = e.getBoundingClientRect(); if (r.width === 0 || r.height === 0) return;
    const fg = parse(s.color), bg = background(e); if (!fg) return;
    const l1 = lum(fg), l2 = lum(bg), ratio = (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
    const size = parseFloat(s.fontSize), bold = parseInt(s.fontWeight) >= 700;
    const needed = (size >= 24 || (bold && size >= 18.66)) ? 3 : 4.5;
    if (ratio < needed) failures.push(`${ratio.toFixed(2)} < ${needed}: "${e.textContent.trim().slice(0, 40)}" ${s.color} on rgb(${bg.r},${bg.g},${bg.b})`);
  });
}
visit(document);
return failures;
