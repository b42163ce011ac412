// The review page's stylesheet, inline in the page (no request may leave it). Colours repeat what words and
// symbols already say; text colours keep a contrast of at least 4.5:1 on their backgrounds (WCAG AA).
export const PAGE_CSS = `
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:#1b1f24;background:#fff}
main{max-width:72rem;margin:0 auto;padding:1rem}
h1{font-size:1.6rem;line-height:1.25;margin:.5rem 0 1rem}
h2{font-size:1.3rem;line-height:1.3;margin:2rem 0 .75rem;padding-top:.5rem;border-top:2px solid #d0d7de}
h3{font-size:1.1rem;margin:1.5rem 0 .5rem}
h1,h2,h3,p,li,dd{overflow-wrap:anywhere}
td,th{overflow-wrap:break-word}
a{color:#0550ae}
code,pre,.ln{font:13.5px/1.45 ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace}
.facts{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem;margin:0 0 1rem}
.facts div{display:contents}
.facts dt{font-weight:600}
.facts dd{margin:0;min-width:0}
.verdict{font-size:1.15rem;margin:1rem 0}
.badge{display:inline-block;padding:0 .4rem;border-radius:.3rem;border:1px solid;font-size:.9rem;line-height:1.5;white-space:normal}
.v-ok,.r-ok{background:#dafbe1;color:#0a3622;border-color:#1a7f37}
.v-findings{background:#fff8c5;color:#4d2d00;border-color:#9a6700}
.v-failed,.r-bad{background:#ffebe9;color:#67060c;border-color:#cf222e}
.r-unknown{background:#f6f8fa;color:#1b1f24;border-color:#6e7781}
.s-error{background:#ffebe9;color:#67060c;border-color:#cf222e}
.s-warning{background:#fff8c5;color:#4d2d00;border-color:#9a6700}
.s-note{background:#ddf4ff;color:#0a3069;border-color:#0969da}
.l-severe{background:#ffebe9;color:#67060c;border-color:#cf222e;border-width:2px}
.l-high{background:#fff1e5;color:#5c2200;border-color:#bc4c00}
.l-medium{background:#fff8c5;color:#4d2d00;border-color:#9a6700}
.l-low{background:#f6f8fa;color:#1b1f24;border-color:#6e7781}
.rewrite{background:#fbefff;color:#3e1f79;border-color:#8250df}
.blocks{font-size:.85rem}
.v-ok,.v-findings,.v-failed,.r-ok,.r-bad{white-space:nowrap}
.summary{border-collapse:collapse;width:100%;margin:.5rem 0 1rem}
.summary th,.summary td{border:1px solid #d0d7de;padding:.35rem .5rem;text-align:left;vertical-align:top}
.summary thead th{background:#f6f8fa}
.summary ul,.changes,.findings{margin:0;padding-left:1.2rem}
.summary ul.plain{list-style:none;padding:0}
.changes li,.findings li{margin:.2rem 0}
.chg{font-weight:600}
.code{overflow-x:auto;max-width:100%;margin:.5rem 0 1rem;padding:.25rem 0;border:1px solid #d0d7de;border-radius:.3rem;background:#f6f8fa;container-type:inline-size}
.code:focus{outline:2px solid #0969da;outline-offset:2px}
.line{white-space:pre;width:max-content;min-width:100%}
.line code{padding-right:.75rem}
.ln{display:inline-block;min-width:3.2em;padding:0 .75rem 0 .5rem;margin-right:.5rem;text-align:right;color:#57606a;border-right:1px solid #d0d7de;user-select:none}
.marks{position:sticky;left:0;width:100cqi;padding:.3rem .6rem;margin:.2rem 0;background:#fff;border-top:1px solid #d0d7de;border-bottom:1px solid #d0d7de;white-space:normal}
.mark{margin:.25rem 0;padding:.25rem .5rem;border-left:4px solid #6e7781}
.mark p{margin:.1rem 0}
.mark-head{font-weight:600}
.mark.stmt{border-left-color:#0969da}
.mark.sev-error,.error-mark{border-left-color:#cf222e}
.mark.sev-warning{border-left-color:#9a6700}
.mark.sev-note{border-left-color:#0969da}
.badges{list-style:none;margin:.2rem 0;padding:0;display:flex;flex-wrap:wrap;gap:.3rem}
.help,.hint{color:#3d444d}
.hint{margin:.25rem 0;font-size:.95rem}
.source{font-weight:400;color:#3d444d}
.hljs-keyword,.hljs-built_in,.hljs-meta{color:#a0111f}
.hljs-type,.hljs-literal,.hljs-number,.hljs-symbol{color:#0550ae}
.hljs-string,.hljs-regexp{color:#0a3069}
.hljs-comment{color:#57606a;font-style:italic}
.hljs-title,.hljs-variable,.hljs-attr,.hljs-params{color:#6639ba}
@media (max-width:40rem){
  main{padding:.6rem}
  .facts{grid-template-columns:1fr}
  .facts dd{margin-bottom:.35rem}
  .summary,.summary tbody,.summary tr,.summary th,.summary td{display:block;width:100%}
  .summary thead{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
  .summary tr{margin-bottom:.75rem;border:1px solid #d0d7de}
  .summary th,.summary td{border:0;border-bottom:1px solid #eaeef2}
  .summary td::before{content:attr(data-label) ": ";font-weight:600}
}
@media print{
  body{font-size:11pt}
  main{max-width:none;padding:0}
  a{color:inherit}
  .code{overflow:visible}
  .line{white-space:pre-wrap;overflow-wrap:anywhere;width:auto}
  .marks{position:static;width:auto}
  section{break-before:page}
  .mark,.summary tr{break-inside:avoid}
  *{-webkit-print-color-adjust:exact;print-color-adjust:exact}
}
`;
