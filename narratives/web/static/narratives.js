/* narrative-tracker: timeline chart and spread graph of one narrative, event or watched narrative.
 *
 * Plain JavaScript drawing SVG; no library, nothing loaded from elsewhere. The data is the JSON in
 * <script id="nt-data"> built by db/charts.py, for the Datasette page (db/datasette_plugin.py) and
 * the standalone report (db/report.py, which inlines this file):
 *   buckets: [{start: "YYYY-MM-DD", articles, outlets: {name: n}}]   one bar (g.mark) per bucket
 *   nodes:   spread_outlets rows                                      one g.node per outlet
 *   edges:   spread_edges rows                                        one path.edge per row
 *   stance_buckets: [{start, articles, stances: {stance: n}}]        the bars stacked by stance instead
 *   stances: [{name, color}], stack: "outlet" | "stance"               (narratives and watched narratives)
 * The page's forms, when present: form.nt-stack (radio buttons: stack the bars by outlet or stance)
 * redraws the timeline; form.nt-stance-filter (a checkbox per stance) hides and shows the rows of
 * the article list (tr[data-stance]) in place.
 */
(function () {
  "use strict";
  var NS = "http://www.w3.org/2000/svg";
  var DAY = 86400000;
  var MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  var EDGE_COLORS = {copy: "#d62728", translation: "#9467bd", citation: "#1f77b4", follow: "#8c8c8c"};
  var EDGE_HELP = {
    copy: "copy: reuses the text of an earlier article",
    translation: "translation: translates an earlier article in another language",
    citation: "citation: links to or names the other outlet",
    follow: "follow: took the narrative up later"
  };

  function el(name, attrs, parent, text) {
    var node = document.createElementNS(NS, name);
    for (var k in attrs) {
      if (Object.prototype.hasOwnProperty.call(attrs, k) && attrs[k] !== null && attrs[k] !== undefined) {
        node.setAttribute(k, attrs[k]);
      }
    }
    if (text !== undefined) node.textContent = text;
    if (parent) parent.appendChild(node);
    return node;
  }

  function tooltip(node, text) { el("title", {}, node, text); }

  function parseDay(s) { return Date.UTC(+s.slice(0, 4), +s.slice(5, 7) - 1, +s.slice(8, 10)); }

  function fmtDay(t, withYear) {
    var d = new Date(t);
    var s = MONTHS[d.getUTCMonth()] + " " + d.getUTCDate();
    return withYear ? s + ", " + d.getUTCFullYear() : s;
  }

  function niceStep(max, ticks) {
    var raw = Math.max(1, max / ticks);
    var pow = Math.pow(10, Math.floor(Math.log10(raw)));
    var steps = [1, 2, 5, 10];
    for (var i = 0; i < steps.length; i++) { if (steps[i] * pow >= raw) return Math.max(1, steps[i] * pow); }
    return 10 * pow;
  }

  function fmtLag(h) {
    if (h === null || h === undefined) return "";
    if (h < 1) return "+" + Math.round(h * 60) + " min";
    if (h < 48) return "+" + (Math.round(h * 10) / 10) + " h";
    return "+" + (Math.round(h / 2.4) / 10) + " days";
  }

  function colorMap(data) {
    var m = {};
    data.outlets.forEach(function (o) { m[o.name] = o.color; });
    return m;
  }

  function width(container, min) {
    return Math.max(min, Math.min(1200, container.clientWidth || 960));
  }

  /* ---- timeline: one stacked bar per time bucket ---------------------------------------- */
  function drawTimeline(container, data, stack) {
    var byStance = stack === "stance" && data.stance_buckets;
    var colors = byStance ? {} : colorMap(data);
    var buckets = byStance ? data.stance_buckets : data.buckets;
    var field = byStance ? "stances" : "outlets";
    var order = byStance ? data.stances.map(function (s) { return s.name; })
                         : data.outlets.map(function (o) { return o.name; });
    if (byStance) data.stances.forEach(function (s) { colors[s.name] = s.color; });
    buckets.forEach(function (b) {  // anything not named in the order (should not happen) goes on top
      Object.keys(b[field]).forEach(function (k) { if (order.indexOf(k) < 0) order.push(k); });
    });
    var unitDays = data.bucket === "week" ? 7 : 1;
    var W = width(container, 560), H = byStance ? 308 : 290;
    var m = {l: 56, r: 20, t: byStance ? 68 : 50, b: 48};  // by stance: a row for the stances' legend
    var iw = W - m.l - m.r, ih = H - m.t - m.b;
    var svg = el("svg", {width: W, height: H, viewBox: "0 0 " + W + " " + H, "class": "timeline",
                         "data-bucket": data.bucket, "data-buckets": buckets.length,
                         "data-stack": byStance ? "stance" : "outlet"}, container);
    var total = buckets.reduce(function (s, b) { return s + b.articles; }, 0);
    el("text", {x: m.l, y: 16, "class": "chart-title"}, svg,
       "Articles per " + data.bucket + " (" + total + " articles in " + buckets.length + " " +
       data.bucket + (buckets.length === 1 ? "" : "s") + " with articles; bars stacked by " +
       (byStance ? "stance: members, and the articles that report or debunk the claim)" : "outlet)"));
    if (byStance) {  // the stances' colours, each with its name (a legend a colour-blind reader can use)
      var lg = el("g", {"class": "legend stance-legend", transform: "translate(" + m.l + ",34)"}, svg);
      var lx0 = 0;
      order.forEach(function (k) {
        var item = el("g", {"class": "stance-key", "data-stance": k, transform: "translate(" + lx0 + ",0)"}, lg);
        el("rect", {x: 0, y: -9, width: 11, height: 11, fill: colors[k] || "#999", stroke: "#555",
                    "stroke-width": 0.5}, item);
        el("text", {x: 15, y: 0}, item, k);
        lx0 += 30 + k.length * 6.5;
      });
    }
    if (!buckets.length) {
      el("text", {x: m.l, y: m.t + 30, "class": "note"}, svg, "No articles.");
      return svg;
    }
    var t0 = parseDay(buckets[0].start), t1 = parseDay(buckets[buckets.length - 1].start) + unitDays * DAY;
    var minSpan = 14 * DAY;
    if (t1 - t0 < minSpan) { var pad = (minSpan - (t1 - t0)) / 2; t0 -= pad; t1 += pad; }
    if (t1 - t0 > 75 * DAY) {  // long spans: whole months, so every month gets its tick
      var a0 = new Date(t0), a1 = new Date(t1 - 1);
      t0 = Date.UTC(a0.getUTCFullYear(), a0.getUTCMonth(), 1);
      t1 = Date.UTC(a1.getUTCFullYear(), a1.getUTCMonth() + 1, 1);
    }
    function x(t) { return m.l + (t - t0) / (t1 - t0) * iw; }
    var maxY = Math.max.apply(null, buckets.map(function (b) { return b.articles; }));
    var step = niceStep(maxY, 5);
    var yMax = Math.max(step, Math.ceil(maxY / step) * step);
    function y(v) { return m.t + ih - v / yMax * ih; }

    // grid and y axis
    var grid = el("g", {"class": "grid"}, svg);
    var yAxis = el("g", {"class": "axis y-axis"}, svg);
    for (var v = 0; v <= yMax; v += step) {
      el("line", {x1: m.l, x2: m.l + iw, y1: y(v), y2: y(v)}, grid);
      el("text", {x: m.l - 6, y: y(v) + 4, "text-anchor": "end"}, yAxis, String(v));
    }
    el("text", {"class": "axis-label", transform: "translate(14," + (m.t + ih / 2) + ") rotate(-90)",
                "text-anchor": "middle"}, svg, "articles per " + data.bucket);

    // bursts behind the bars
    (data.bursts || []).forEach(function (b) {
      var bx0 = x(parseDay(b.start_day)), bx1 = x(parseDay(b.end_day) + DAY);
      var g = el("g", {"class": "burst-band"}, svg);
      el("rect", {"class": "burst", x: bx0, y: m.t - 26, width: Math.max(2, bx1 - bx0), height: ih + 26}, g);
      el("text", {"class": "burst-label", x: bx0 + 2, y: m.t - 16}, g, "burst " + b.burst);
      tooltip(g, "burst " + b.burst + ": " + b.start_day + " to " + b.end_day + ", " + b.articles + " articles");
    });

    // bars
    var slot = x(t0 + unitDays * DAY) - x(t0);
    var bw = Math.max(2, Math.min(36, slot - Math.min(2, slot * 0.2)));
    var marks = el("g", {"class": "marks"}, svg);
    buckets.forEach(function (b) {
      var start = parseDay(b.start);
      var cx = x(start) + slot / 2;
      var g = el("g", {"class": "mark", "data-bucket": b.start, "data-articles": b.articles}, marks);
      var acc = 0;
      var parts = [];
      order.forEach(function (o) {
        var n = b[field][o];
        if (!n) return;
        el("rect", {x: cx - bw / 2, y: y(acc + n), width: bw, height: Math.max(0.5, y(acc) - y(acc + n)),
                    fill: colors[o] || "#999", "data-key": o}, g);
        acc += n;
        parts.push(o + ": " + n);
      });
      var label = (data.bucket === "week" ? "week of " : "") + b.start + ": " + b.articles +
                  (b.articles === 1 ? " article" : " articles") + "\n" + parts.join("\n");
      tooltip(g, label);
      if (bw >= 12) el("text", {"class": "bar-label", x: cx, y: y(b.articles) - 3}, g, String(b.articles));
    });

    // x axis: month starts over long spans, Mondays over weeks, days over short spans
    var xAxis = el("g", {"class": "axis x-axis"}, svg);
    el("line", {x1: m.l, x2: m.l + iw, y1: m.t + ih, y2: m.t + ih}, xAxis);
    var spanDays = (t1 - t0) / DAY;
    var ticks = [];
    var d = new Date(t0), t;
    if (spanDays > 75) {
      var cur = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
      var every = spanDays > 800 ? 6 : spanDays > 400 ? 3 : 1;
      while (cur <= t1) {
        if (cur >= t0 && new Date(cur).getUTCMonth() % every === 0) ticks.push(cur);
        var cd = new Date(cur);
        cur = Date.UTC(cd.getUTCFullYear(), cd.getUTCMonth() + 1, 1);
      }
    } else {
      var stepDays = spanDays > 21 ? 7 : spanDays > 10 ? 2 : 1;
      t = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
      if (stepDays === 7) { while (new Date(t).getUTCDay() !== 1) t += DAY; }
      for (; t <= t1; t += stepDays * DAY) { if (t >= t0) ticks.push(t); }
    }
    var lastYear = null;
    ticks.forEach(function (tt) {
      var tx = x(tt);
      el("line", {x1: tx, x2: tx, y1: m.t + ih, y2: m.t + ih + 5}, xAxis);
      var yr = new Date(tt).getUTCFullYear();
      var text = spanDays > 75 ? MONTHS[new Date(tt).getUTCMonth()] + (yr !== lastYear ? " " + yr : "")
                               : fmtDay(tt, yr !== lastYear);
      lastYear = yr;
      el("text", {x: tx, y: m.t + ih + 18, "text-anchor": "middle"}, xAxis, text);
    });
    el("text", {"class": "axis-label", x: m.l + iw / 2, y: H - 6, "text-anchor": "middle"}, svg,
       "time of publication (UTC; first fetch when the page gives no date)" +
       (data.bucket === "week" ? ", weeks start on Monday" : ""));
    return svg;
  }

  /* ---- spread graph: one node per outlet, left to right by first appearance ------------- */
  function drawSpread(container, data) {
    var colors = colorMap(data);
    var nodes = data.nodes, edges = data.edges;
    var W = width(container, 560);
    var m = {l: 70, r: 70, t: 58};
    var rowH = 190;
    var iw = W - m.l - m.r;
    var perRow = Math.max(2, Math.floor(iw / 105) + 1);
    var rowsN = Math.max(1, Math.ceil(nodes.length / perRow));
    var H = m.t + rowsN * rowH + 40;
    var svg = el("svg", {width: W, height: H, viewBox: "0 0 " + W + " " + H, "class": "spread-graph",
                         "data-nodes": nodes.length, "data-edges": edges.length}, container);
    el("text", {x: 10, y: 16, "class": "chart-title"}, svg,
       nodes.length + " outlets in order of first appearance (left to right" +
       (rowsN > 1 ? ", then the next row" : "") + "); circle area = articles; ringed = origin");
    // arrowheads, one per edge kind
    var defs = el("defs", {}, svg);
    Object.keys(EDGE_COLORS).forEach(function (k) {
      var mk = el("marker", {id: "nt-arrow-" + k, viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7,
                             markerHeight: 7, orient: "auto-start-reverse", markerUnits: "userSpaceOnUse"}, defs);
      el("path", {d: "M0,0 L10,5 L0,10 z", fill: EDGE_COLORS[k]}, mk);
    });
    if (!nodes.length) {
      el("text", {x: 10, y: m.t, "class": "note"}, svg, "No outlets.");
      return svg;
    }
    // layout
    var pos = {};
    nodes.forEach(function (n, i) {
      var row = Math.floor(i / perRow), col = i % perRow;
      var inRow = Math.min(perRow, nodes.length - row * perRow);
      var cols = rowsN > 1 ? perRow : inRow;
      var px = cols === 1 ? m.l + iw / 2 : m.l + col * iw / (cols - 1);
      var py = m.t + row * rowH + 80 + (col % 2 ? 52 : 0);
      var r = Math.min(26, 7 + 4 * Math.sqrt(n.articles || 1));
      pos[n.outlet] = {x: px, y: py, r: r};
    });
    // edges under the nodes
    var edgeLayer = el("g", {"class": "edges"}, svg);
    var kindsSeen = {};
    var kindIndex = {copy: 0, citation: 1, follow: 2, translation: 3};
    edges.forEach(function (e) {
      var a = pos[e.from_outlet], b = pos[e.to_outlet];
      if (!a || !b || a === b) return;
      kindsSeen[e.edge_kind] = (kindsSeen[e.edge_kind] || 0) + 1;
      var dx = b.x - a.x, dy = b.y - a.y, len = Math.sqrt(dx * dx + dy * dy) || 1;
      var ux = dx / len, uy = dy / len;
      // curve upward (labels sit below the nodes); parallel edges of other kinds bend further
      var bend = -(Math.min(150, 0.3 * len) + 16 * (kindIndex[e.edge_kind] || 0)) * (dx >= 0 ? 1 : -1);
      var mx = (a.x + b.x) / 2 - uy * bend, my = (a.y + b.y) / 2 + ux * bend;
      // start and end on the circles, pointing along the curve
      var sx = mx - a.x, sy = my - a.y, sl = Math.sqrt(sx * sx + sy * sy) || 1;
      var ex = mx - b.x, ey = my - b.y, eLen = Math.sqrt(ex * ex + ey * ey) || 1;
      var x0 = a.x + sx / sl * a.r, y0 = a.y + sy / sl * a.r;
      var x1 = b.x + ex / eLen * (b.r + 2), y1 = b.y + ey / eLen * (b.r + 2);
      var color = EDGE_COLORS[e.edge_kind] || "#666";
      var w = 1.2 + Math.log2(1 + (e.weight || 1));
      var p = el("path", {"class": "edge edge-" + e.edge_kind, d: "M" + x0 + "," + y0 + " Q" + mx + "," + my +
                          " " + x1 + "," + y1, stroke: color, "stroke-width": w,
                          "marker-end": "url(#nt-arrow-" + (EDGE_COLORS[e.edge_kind] ? e.edge_kind : "follow") + ")",
                          "data-from": e.from_outlet, "data-to": e.to_outlet, "data-kind": e.edge_kind}, edgeLayer);
      tooltip(p, e.from_outlet + " → " + e.to_outlet + ": " + e.edge_kind + " × " + (e.weight || 1) +
              (e.lag_hours !== null && e.lag_hours !== undefined ? ", " + fmtLag(e.lag_hours).slice(1) + " later" : "") +
              (e.evidence ? "\nevidence: " + e.evidence : ""));
    });
    // nodes
    var nodeLayer = el("g", {"class": "nodes"}, svg);
    nodes.forEach(function (n) {
      var p = pos[n.outlet];
      var g = el("g", {"class": "node" + (n.is_origin ? " origin" : ""), "data-outlet": n.outlet,
                       "data-rank": n.adoption_rank, transform: "translate(" + p.x + "," + p.y + ")"}, nodeLayer);
      if (n.is_origin) el("circle", {r: p.r + 5, fill: "none", stroke: "#222", "stroke-width": 2.5}, g);
      el("circle", {r: p.r, fill: colors[n.outlet] || "#999", stroke: "#fff", "stroke-width": 1.5}, g);
      el("text", {"class": "node-label", y: p.r + 16}, g, n.outlet);
      el("text", {"class": "node-lag", y: p.r + 30}, g,
         (n.is_origin ? "first, " : fmtLag(n.lag_hours) + ", ") + n.articles + (n.articles === 1 ? " article" : " articles"));
      if (n.is_origin) el("text", {"class": "origin-label", y: -p.r - 10}, g, "origin");
      tooltip(g, "#" + n.adoption_rank + " " + n.outlet + "\nfirst article: " + n.first_seen_at + " (" +
              n.time_source + ")" + (n.is_origin ? "\norigin" : "\n" + fmtLag(n.lag_hours).slice(1) +
              " after the origin") + "\n" + n.articles + " articles");
    });
    // legend
    var ly = H - 22;
    var legend = el("g", {"class": "legend", transform: "translate(10," + ly + ")"}, svg);
    var lx = 0;
    el("text", {x: 0, y: 4}, legend, "edges:");
    lx = 48;
    Object.keys(EDGE_COLORS).forEach(function (k) {
      el("line", {x1: lx, x2: lx + 26, y1: 0, y2: 0, stroke: EDGE_COLORS[k], "stroke-width": 2.5,
                  "marker-end": "url(#nt-arrow-" + k + ")"}, legend);
      var label = EDGE_HELP[k] + " (" + (kindsSeen[k] || 0) + ")";
      el("text", {x: lx + 32, y: 4}, legend, label);
      lx += 40 + label.length * 5.9;
    });
    if (!edges.length) {
      el("text", {x: 10, y: 34, "class": "note"}, svg,
         "No copy, translation, citation or follow edges recorded: the order of first appearance is all there is.");
    }
    return svg;
  }

  /* ---- the stack control: redraw the timeline stacked by outlet or by stance ------------ */
  function stackControl(tl, data) {
    var form = document.querySelector("form.nt-stack");
    if (!form || !tl) return;
    form.addEventListener("submit", function (ev) { ev.preventDefault(); });
    form.addEventListener("change", function () {
      var picked = form.querySelector("input[name=stack]:checked");
      while (tl.firstChild) tl.removeChild(tl.firstChild);
      drawTimeline(tl, data, picked ? picked.value : "outlet");
    });
  }

  /* ---- the stance filter: hide and show the article rows of each stance ------------------ */
  function stanceFilter() {
    var form = document.querySelector("form.nt-stance-filter");
    if (!form) return;
    var loaded = (form.getAttribute("data-loaded") || "").split(",");
    var rows = document.querySelectorAll("tr[data-stance]");
    var note = document.getElementById("nt-shown");
    var apply = form.querySelector(".nt-apply");
    if (apply) apply.hidden = true;  // each tick applies at once
    function update() {
      var shown = {}, missing = false;
      Array.prototype.forEach.call(form.querySelectorAll("input[name=stance]"), function (box) {
        shown[box.value] = box.checked;
        if (box.checked && loaded.indexOf(box.value) < 0) missing = true;
      });
      if (missing) { form.submit(); return; }  // rows the server left out: ask for them
      var visible = 0;
      Array.prototype.forEach.call(rows, function (tr) {
        var on = !!shown[tr.getAttribute("data-stance")];
        tr.hidden = !on;
        if (on) visible++;
      });
      if (note) {
        note.textContent = visible === rows.length ? "" :
          "Showing " + visible + " of the " + rows.length + " articles listed (the stances ticked above).";
      }
      form.setAttribute("data-visible", visible);
    }
    form.addEventListener("change", update);
    form.addEventListener("submit", function (ev) { ev.preventDefault(); update(); });
    update();
  }

  function main() {
    var holder = document.getElementById("nt-data");
    if (!holder) return;
    var data = JSON.parse(holder.textContent);
    var tl = document.getElementById("nt-timeline");
    var sp = document.getElementById("nt-spread");
    if (tl) drawTimeline(tl, data, data.stack);
    if (sp) drawSpread(sp, data);
    stackControl(tl, data);
    stanceFilter();
    document.body.setAttribute("data-charts", "ready");
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", main);
  else main();
})();
