// The printable route sheet: only a Print button (the sheet itself needs no script).
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const button = document.getElementById("print");
  if (button) button.addEventListener("click", () => window.print());
});
