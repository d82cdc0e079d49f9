// /verify/: hash the chosen (or dropped) PDF in the browser with Web Crypto and ask
// the portal about that hash only. The file itself never leaves the machine.
"use strict";

(function () {
  const form = document.getElementById("verify-file-form");
  const input = document.getElementById("verify-file");
  const result = document.getElementById("verify-result");
  if (!form || !input || !result) return;
  if (!(window.crypto && window.crypto.subtle && window.fetch)) {
    // The hash form below the drop zone still works.
    return;
  }
  form.hidden = false;
  const jsonUrl = form.dataset.jsonUrl;
  const placeholder = "0".repeat(64);

  function paragraph(text, className) {
    const p = document.createElement("p");
    p.textContent = text;
    if (className) p.className = className;
    return p;
  }

  function link(href, text) {
    const li = document.createElement("li");
    const a = document.createElement("a");
    a.href = href;
    a.textContent = text;
    li.appendChild(a);
    return li;
  }

  function show(answer, fileName) {
    const box = document.createElement("div");
    box.className = "verify-answer " + (answer.found ? (answer.is_current ? "is-current" : "is-old") : "is-unknown");
    box.appendChild(paragraph("ファイル: " + fileName, "verify-file-name"));
    for (const line of answer.lines) box.appendChild(paragraph(line));
    if (answer.found) {
      const links = document.createElement("ul");
      links.className = "verify-links";
      links.appendChild(link(answer.url, "第" + answer.version + "版のページ"));
      if (answer.current) {
        links.appendChild(link(answer.current.url, "現在の版（第" + answer.current.version + "版）"));
      }
      box.appendChild(links);
    }
    const hash = paragraph("SHA-256: ", "verify-hash");
    const code = document.createElement("code");
    code.textContent = answer.sha256;
    hash.appendChild(code);
    box.appendChild(hash);
    result.replaceChildren(box);
  }

  function fail(message) {
    result.replaceChildren(paragraph(message, "verify-error"));
  }

  async function check(file) {
    if (!file) return;
    result.replaceChildren(paragraph("確認しています…"));
    let hex;
    try {
      const digest = await crypto.subtle.digest("SHA-256", await file.arrayBuffer());
      hex = Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
    } catch (error) {
      fail("ファイルを読み込めませんでした。もう一度選んでください。");
      return;
    }
    let response;
    try {
      response = await fetch(jsonUrl.replace(placeholder, hex), { headers: { Accept: "application/json" } });
    } catch (error) {
      fail("ポータルに問い合わせできませんでした。通信状態を確認して、もう一度お試しください。");
      return;
    }
    if (response.status !== 200 && response.status !== 404) {
      fail("ポータルから回答を得られませんでした（HTTP " + response.status + "）。時間をおいてもう一度お試しください。");
      return;
    }
    try {
      show(await response.json(), file.name);
    } catch (error) {
      fail("ポータルの回答を読めませんでした。時間をおいてもう一度お試しください。");
    }
  }

  input.addEventListener("change", () => check(input.files[0]));
  form.addEventListener("submit", (event) => event.preventDefault());
  form.addEventListener("dragover", (event) => {
    event.preventDefault();
    form.classList.add("is-dragging");
  });
  form.addEventListener("dragleave", () => form.classList.remove("is-dragging"));
  form.addEventListener("drop", (event) => {
    event.preventDefault();
    form.classList.remove("is-dragging");
    const file = event.dataTransfer && event.dataTransfer.files[0];
    if (file) check(file);
  });
})();
