// Polls a running train & test job and reloads the page once it has ended.
(function () {
  "use strict";
  const box = document.getElementById("job");
  if (!box || ["done", "failed"].includes(box.dataset.status)) { return; }
  const POLL_MS = 2000;
  const timer = setInterval(function () {
    fetch(box.dataset.poll, { credentials: "same-origin" })
      .then((r) => r.json())
      .then(function (job) {
        document.getElementById("job-progress").value = job.progress;
        document.getElementById("job-stage").textContent = job.stage;
        document.getElementById("job-status").textContent = job.status;
        if (job.status === "done" || job.status === "failed") { clearInterval(timer); location.reload(); }
      })
      .catch(function () { clearInterval(timer); });
  }, POLL_MS);
})();
