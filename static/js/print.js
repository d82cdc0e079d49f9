// Agency pages: the 「印刷する」 button opens the browser's print dialog (the print
// style sheet lays the page out). Without JavaScript the button stays hidden.
"use strict";

(function () {
  for (const button of document.querySelectorAll("button[data-print]")) {
    button.hidden = false;
    button.addEventListener("click", function () {
      window.print();
    });
  }
})();
