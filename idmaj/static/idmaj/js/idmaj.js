// Small progressive enhancements; every page works without JavaScript.
document.addEventListener("keydown", function (e) {
  // "/" focuses the first search box of the page, as in most registries' tools.
  if (e.key === "/" && !/input|textarea|select/i.test(document.activeElement.tagName)) {
    var box = document.querySelector("input[type=search]");
    if (box) { e.preventDefault(); box.focus(); }
  }
});
