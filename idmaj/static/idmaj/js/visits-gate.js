// The gate's code box: scan the QR code of a booking confirmation with the device's camera.
// Uses the browser's BarcodeDetector API where there is one (Chromium on Android, recent
// desktop Chromium); elsewhere the button stays hidden and the officer types the code.
// No library, no network: the page works without this file.
(function () {
  "use strict";

  function codeFrom(raw) {
    // The QR code may carry the bare code or a link that ends with it (…/CODE/ or ?code=CODE).
    var value = (raw || "").trim();
    try {
      var url = new URL(value);
      var param = url.searchParams.get("code");
      if (param) { return param; }
      var parts = url.pathname.split("/").filter(Boolean);
      if (parts.length) { return parts[parts.length - 1]; }
    } catch (e) { /* not a URL: the code itself */ }
    return value;
  }

  function init() {
    var form = document.getElementById("gate-code-form");
    var wrap = document.getElementById("gate-scan-wrap");
    var button = document.getElementById("gate-scan");
    var box = document.getElementById("gate-scanner");
    if (!form || !wrap || !button || !box) { return; }
    var input = form.querySelector("input[name=code]");
    var video = document.getElementById("gate-video");
    var status = document.getElementById("gate-scan-status");
    var stop = document.getElementById("gate-scan-stop");
    var stopWrap = document.getElementById("gate-scan-stop-wrap");
    if (input) { input.focus(); }
    if (!("BarcodeDetector" in window) || !navigator.mediaDevices ||
        !navigator.mediaDevices.getUserMedia) {
      return; // typing only
    }
    var detector;
    try {
      detector = new window.BarcodeDetector({ formats: ["qr_code"] });
    } catch (e) {
      return;
    }
    var stream = null;
    var timer = null;

    function close() {
      if (timer) { window.clearTimeout(timer); timer = null; }
      if (stream) { stream.getTracks().forEach(function (t) { t.stop(); }); stream = null; }
      video.srcObject = null;
      box.hidden = true;
      wrap.hidden = false;
    }

    function scan() {
      if (!stream) { return; }
      detector.detect(video).then(function (codes) {
        if (codes && codes.length && codes[0].rawValue) {
          input.value = codeFrom(codes[0].rawValue);
          status.textContent = box.dataset.msgFound || "";
          close();
          form.submit();
          return;
        }
        timer = window.setTimeout(scan, 250);
      }).catch(function () {
        timer = window.setTimeout(scan, 500);
      });
    }

    // Offer the camera only where the detector reads QR codes.
    var formats = window.BarcodeDetector.getSupportedFormats
      ? window.BarcodeDetector.getSupportedFormats()
      : Promise.resolve(["qr_code"]);
    formats.then(function (list) {
      if (list && list.indexOf("qr_code") !== -1) { wrap.hidden = false; }
    }).catch(function () { /* typing only */ });
    button.addEventListener("click", function () {
      navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false })
        .then(function (s) {
          stream = s;
          video.srcObject = s;
          box.hidden = false;
          wrap.hidden = true;
          status.textContent = box.dataset.msgScanning || "";
          return video.play();
        })
        .then(scan)
        .catch(function () {
          close();
          // No camera (refused, or none): say so, and leave the typing.
          wrap.hidden = true;
          video.hidden = true;
          stopWrap.hidden = true;
          box.hidden = false;
          status.textContent = box.dataset.msgDenied || "";
          if (input) { input.focus(); }
        });
    });
    stop.addEventListener("click", close);
    window.addEventListener("pagehide", close);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
