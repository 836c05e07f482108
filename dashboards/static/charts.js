// Draws every figure a page carries in data-figure attributes (no inline script: CSP).
"use strict";
document.querySelectorAll("div[data-figure]").forEach(function (element) {
  var figure = JSON.parse(element.getAttribute("data-figure"));
  var config = JSON.parse(element.getAttribute("data-config") || "{}");
  window.Plotly.newPlot(element, figure.data, figure.layout, config);
});
