// Live validation of the service document: after a pause in typing (or on "Check"), the text goes to the portal's
// /designer/validate, which answers {valid, problems: [{field, reason}]} without storing anything.
(function () {
  const area = document.getElementById("document");
  const panel = document.getElementById("validation");
  if (!area || !panel) return;
  let timer = null;
  let sequence = 0;

  function show(result) {
    panel.replaceChildren();
    if (result.valid) {
      const ok = document.createElement("p");
      ok.className = "valid";
      ok.textContent = panel.dataset.valid;
      panel.append(ok);
      return;
    }
    const title = document.createElement("h2");
    title.textContent = panel.dataset.problems;
    const list = document.createElement("ul");
    list.className = "problems";
    for (const problem of result.problems) {
      const item = document.createElement("li");
      const field = document.createElement("code");
      field.textContent = problem.field;
      item.append(field, " " + problem.reason);
      list.append(item);
    }
    panel.append(title, list);
  }

  async function validate() {
    const mine = ++sequence;
    const response = await fetch(area.dataset.validate, {method: "POST", body: area.value, credentials: "same-origin",
                                                         headers: {"Content-Type": "text/plain; charset=utf-8"}});
    if (!response.ok || mine !== sequence) return;  // a newer check is under way
    show(await response.json());
  }

  area.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(validate, 600);
  });
  document.getElementById("check").addEventListener("click", validate);
})();
