// SPARQL page: YASGUI (vendored) pointed at this server's endpoint, with every online feature off:
// no prefix.cc or LOV look-ups, no catalogue of public endpoints, no state kept between visits.
(function () {
  "use strict";
  var root = document.getElementById("yasgui");
  var data = JSON.parse(document.getElementById("named-queries").textContent);
  var picker = document.getElementById("named-query");
  var csvLink = document.getElementById("csv-link");
  if (!root || typeof Yasgui === "undefined") return;
  var endpoint = new URL(root.getAttribute("data-endpoint"), window.location.href).href;

  var yasgui = new Yasgui(root, {
    requestConfig: { endpoint: endpoint, method: "POST" },
    copyEndpointOnNewTab: true,
    endpointCatalogueOptions: { getData: function () { return [{ endpoint: endpoint }]; } },
    persistenceId: null,
    populateFromUrl: false,
    autofocus: false,
    yasqe: { autocompleters: ["prefixes", "variables"], prefixCcApi: null },
    yasr: { pluginOrder: ["table", "response"], defaultPlugin: "table" }
  });

  function tab() { return yasgui.getTab(); }
  function queryText(name) {
    for (var i = 0; i < data.queries.length; i++) {
      if (data.queries[i].name === name) return data.queries[i].query;
    }
    return data["default"];
  }
  function updateCsv() {
    var q = tab() ? tab().getQuery() : data["default"];
    csvLink.href = endpoint + "?format=csv&query=" + encodeURIComponent(q);
  }
  function load(name) {
    tab().setEndpoint(endpoint);
    tab().setQuery(queryText(name));
    updateCsv();
  }
  load(picker.value);
  picker.addEventListener("change", function () { load(picker.value); });
  yasgui.on("tabSelect", function () { setTimeout(updateCsv, 0); });
  yasgui.on("query", updateCsv);
  tab().getYasqe().on("change", updateCsv);
  window.hpkgYasgui = yasgui; // for the end-to-end tests and the curious
})();
