// Injected into every benchmark page before its own scripts (page.addInitScript): records
// when the files are chosen, every long main-thread task, and lets the page (or the driver)
// say when every file is stored. Times are the page's performance.now(), in milliseconds.
(() => {
  const bench = (window.__bench = { chosenAt: null, doneAt: null, result: null, longTasks: [] });
  // Keep a resource timing entry for every request, not only the first 250.
  performance.setResourceTimingBufferSize(100000);
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) bench.longTasks.push({ start: entry.startTime, duration: entry.duration });
  }).observe({ type: "longtask", buffered: true });
  // The first moment the page learns of the files, before any of its own listeners run.
  const chosen = (event) => {
    const files = event.type === "drop" ? event.dataTransfer?.files : event.target?.files;
    if (bench.chosenAt === null && files && files.length > 0) bench.chosenAt = performance.now();
  };
  window.addEventListener("change", chosen, true);
  window.addEventListener("drop", chosen, true);
  /** Called once every file has finished: `{stored, failed}` as the page counts them. */
  bench.finish = (result) => {
    if (bench.doneAt !== null) return;
    bench.doneAt = performance.now();
    bench.result = result;
  };
})();
