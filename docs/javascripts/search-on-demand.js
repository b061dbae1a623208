// Material starts its search as soon as a page opens: it loads the index (search/search_index.json, ~600 KB) and
// starts its search worker (~40 KB). Both wait here until the reader goes to the search box (a click, the "/" key
// and a ?q= link all focus it), so a page's first load stays light; search then works as before, offline too.
// Loaded before Material's bundle.
(() => {
  const { open, send } = XMLHttpRequest.prototype;
  const held = [];
  let wanted = false;
  const release = () => {
    wanted = true;
    held.splice(0).forEach(start => start());
  };
  XMLHttpRequest.prototype.open = function (method, url, ...rest) {
    this.isSearchIndex = new URL(url, document.baseURI).pathname.endsWith("/search/search_index.json");
    return open.call(this, method, url, ...rest);
  };
  XMLHttpRequest.prototype.send = function (...body) {
    if (this.isSearchIndex && !wanted) held.push(() => send.apply(this, body));
    else send.apply(this, body);
  };
  document.addEventListener("focusin", event => event.target.matches(".md-search__input") && release());
  document.addEventListener("change", event => event.target.id === "__search" && release());

  // The search worker starts with the first message Material sends it: the index, once loaded.
  const RealWorker = window.Worker;
  window.Worker = class extends EventTarget {
    constructor(url, options) {
      super();
      if (!new URL(url, document.baseURI).pathname.includes("/workers/search.")) return new RealWorker(url, options);
      this.start = () => {
        const worker = new RealWorker(url, options);
        worker.addEventListener("message", ({ data }) => this.dispatchEvent(new MessageEvent("message", { data })));
        return worker;
      };
    }

    postMessage(message) {
      this.worker ??= this.start();
      this.worker.postMessage(message);
    }
  };
})();
