/* NTM Atlas overview map: draws the page's compact data on a folium (Leaflet) map.
 *
 * Communes arrive once as TopoJSON with attribute columns (maps/web_data.py) and are
 * coloured by their class index; district borders and district shapes are derived from
 * the same topology (topojson.mesh / topojson.merge). Zoomed out, aggregated units
 * (districts of a province, provinces of the country) replace the communes. Overlays
 * are fetched when switched on. Every name from the data is escaped before display.
 */
(function () {
  "use strict";

  var ESC = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
  function esc(value) {
    return value === null || value === undefined ? "" : String(value).replace(/[&<>"']/g, function (c) { return ESC[c]; });
  }
  function fmt(template, values) {
    return template.replace(/\{(\w+)\}/g, function (_, k) { return values[k] === undefined ? "" : values[k]; });
  }
  function pct(n, d) { return d ? Math.round((100 * n) / d) + "%" : "–"; }

  function overview(map, cfg) {
    var T = cfg.t;
    var container = map.getContainer();
    var loaded = 0;
    var byCode = {};
    var panes = { communes: 400, raster: 403, aggregates: 405, villages: 410, lines: 420, districts: 450, points: 460 };
    Object.keys(panes).forEach(function (name) {
      var pane = map.createPane("ntm-" + name);
      pane.style.zIndex = panes[name];
    });
    map.getPane("ntm-districts").style.pointerEvents = "none";
    map.getPane("ntm-raster").style.pointerEvents = "none";  // tooltips of the communes below stay live
    var svg = L.svg({ pane: "ntm-communes", padding: 0.5 });
    var communes = L.featureGroup().addTo(map);
    var aggregates = L.featureGroup();
    var districtLines = L.featureGroup().addTo(map);

    var scopeBounds = L.latLngBounds([[cfg.bounds[1], cfg.bounds[0]], [cfg.bounds[3], cfg.bounds[2]]]);
    map.fitBounds(scopeBounds, { animate: false });
    // a province or district: communes while the scope fills the screen, aggregates when zoomed further out
    var communeZoom = cfg.inline ? Math.floor(map.getBoundsZoom(scopeBounds)) - 1 : cfg.communeZoom;

    // --- communes ---------------------------------------------------------------------
    function levelLabel(p, i) {
      var lv = p.lv[i];
      var text = lv >= 0 ? cfg.levels[lv] : T.not_recognised;
      return p.risk[i] ? text + " (" + T.at_risk + ")" : text;
    }
    function metText(p, i) {
      return p.a[i] ? p.m[i] + "/" + cfg.criteria.length : T.no_data;
    }
    function districtName(p, i) {
      var d = p.dist[i];
      return d >= 0 ? p.districts[d][1] : "";
    }
    function tooltip(p, i) {
      return "<b>" + esc(p.name[i]) + "</b>" +
        (districtName(p, i) ? "<br>" + esc(T.district) + ": " + esc(districtName(p, i)) : "") +
        "<br>" + esc(T.criteria_met) + ": " + esc(metText(p, i)) +
        "<br>" + esc(T.level) + ": " + esc(levelLabel(p, i)) + analysisText(p, i);
    }
    // analysis modes (hot spots, indicators): the class and its statistic or value
    function analysisText(p, i) {
      if (!p.v) { return ""; }
      return "<br>" + esc(cfg.classes[p.k[i]][2]) + (p.v[i] ? "<br>" + esc(cfg.valueLabel) + ": " + esc(p.v[i]) : "");
    }
    function popup(p, i) {
      var marks = { "1": ["✓", "ntm-met"], "0": ["✗", "ntm-unmet"], "-": ["–", "ntm-nodata"] };
      var rows = cfg.criteria.map(function (c, j) {
        var m = marks[p.s[i].charAt(j)] || marks["-"];
        return "<tr><td>" + c[0] + "</td><td>" + esc(c[1]) + (c[2] ? " <i>" + esc(c[2]) + "</i>" : "") +
          "</td><td class='" + m[1] + "'>" + m[0] + "</td></tr>";
      }).join("");
      var rec = p.rec[i];
      var record = rec
        ? esc(levelLabel(p, i)) + ", " + esc(T.recognised_in) + " " + esc(rec[0]) +
          (rec[1] ? "<br>" + esc(T.decision) + ": " + esc(rec[1]) + (rec[2] ? " (" + esc(rec[2]) + ")" : "") : "") +
          (rec[3] ? "<br>" + esc(rec[3]) : "") + (rec[4] ? "<br>" + esc(T.valid_until) + ": " + esc(rec[4]) : "")
        : esc(levelLabel(p, i));
      var cls = cfg.classes[p.k[i]];
      return "<div class='ntm-popup'><h3>" + esc(p.name[i]) + "</h3>" +
        (districtName(p, i) ? "<div>" + esc(T.district) + ": " + esc(districtName(p, i)) + "</div>" : "") +
        "<div><span class='ntm-swatch' style='background:" + esc(cls[1]) + "'></span>" + esc(cls[2]) + "</div>" +
        "<div>" + esc(T.criteria_met) + ": <b>" + esc(metText(p, i)) + "</b> · " + esc(cfg.setTitle) + "</div>" +
        "<table class='ntm-criteria'><thead><tr><th>#</th><th>" + esc(T.criterion) + "</th><th></th></tr></thead><tbody>" +
        rows + "</tbody></table><div class='ntm-record'><b>" + esc(T.recognition) + ":</b> " + record + "</div>" +
        "<a class='ntm-link' href='" + esc(cfg.urls.commune + encodeURIComponent(p.code[i]) + cfg.urls.communeQuery) + "'>" +
        esc(T.open_commune) + " →</a></div>";
    }

    function addPayload(p) {
      var topo = p.topo;
      var obj = topo.objects.u;
      var features = topojson.feature(topo, obj).features;
      var layer = L.geoJSON(features, {
        pane: "ntm-communes",
        renderer: cfg.inline ? svg : undefined,
        style: function (f) {
          return { fillColor: cfg.classes[p.k[f.id]][1], fillOpacity: 0.85, color: "#ffffff", weight: 0.6,
                   opacity: 0.9, className: "ntm-commune" };
        },
        onEachFeature: function (f, lyr) {
          var i = f.id;
          lyr.bindTooltip(function () { return tooltip(p, i); }, { sticky: true });
          lyr.bindPopup(function () { return popup(p, i); }, { maxWidth: 380 });
          lyr.on("mouseover", function () { lyr.setStyle({ weight: 2, color: "#333333" }); });
          lyr.on("mouseout", function () { lyr.setStyle({ weight: 0.6, color: "#ffffff" }); });
          byCode[p.code[i]] = lyr;
        }
      });
      communes.addLayer(layer);
      loaded += features.length;
      container.setAttribute("data-communes", String(loaded));
      var sameDistrict = function (a, b) { return a !== b && p.dist[a.id] !== p.dist[b.id]; };
      districtLines.addLayer(L.geoJSON(topojson.mesh(topo, obj, sameDistrict), {
        pane: "ntm-districts", interactive: false, style: { color: "#3b3b3b", weight: 1.6, opacity: 0.9 }
      }));
      districtLines.addLayer(L.geoJSON(topojson.mesh(topo, obj, function (a, b) { return a === b; }), {
        pane: "ntm-districts", interactive: false, style: { color: "#1f1f1f", weight: 2.4, opacity: 0.9 }
      }));
      if (cfg.inline) { pendingAggregates = p; }
    }
    var pendingAggregates = null;  // district shapes are merged the first time they are shown

    // --- aggregated units -------------------------------------------------------------
    function shareColour(good, classified) {
      if (!classified) { return cfg.noDataColour; }
      var share = good / classified;
      for (var j = 0; j < cfg.share.length; j++) {
        if (share >= cfg.share[j][0] && share < cfg.share[j][1]) { return cfg.share[j][2]; }
      }
      return cfg.noDataColour;
    }
    function aggTooltip(name, a) {
      return "<b>" + esc(name) + "</b><br>" + esc(T.communes_standard) + ": " + a[1] + "/" + a[0] + " (" + pct(a[1], a[0]) + ")" +
        "<br>" + esc(T.average_criteria) + ": " + (a[2] === null ? esc(T.no_data) : a[2]) +
        "<br>" + esc(cfg.shareTitle) + ": " + a[3] + "/" + a[4] + " (" + pct(a[3], a[4]) + ")";
    }
    function addDistrictAggregates(p) {
      var geoms = p.topo.objects.u.geometries;
      p.districts.forEach(function (d, k) {
        var parts = geoms.filter(function (g) { return p.dist[g.id] === k; });
        if (!parts.length) { return; }
        var shape = topojson.merge(p.topo, parts);
        var a = d.slice(2);
        aggregates.addLayer(L.geoJSON(shape, {
          pane: "ntm-aggregates",
          style: { fillColor: shareColour(a[3], a[4]), fillOpacity: 0.85, color: "#555555", weight: 1 }
        }).bindTooltip(aggTooltip(d[1], a), { sticky: true }).on("click", function (e) {
          map.fitBounds(e.layer.getBounds());
        }));
      });
    }
    var provinceLayers = [];
    function addProvinces(pp) {
      var obj = pp.topo.objects.u;
      topojson.feature(pp.topo, obj).features.forEach(function (f) {
        var i = f.id;
        var a = pp.agg[i];
        var lyr = L.geoJSON(f, {
          pane: "ntm-aggregates",
          style: { fillColor: shareColour(a[3], a[4]), fillOpacity: 0.85, color: "#555555", weight: 0.8 }
        }).bindTooltip(aggTooltip(pp.name[i], a), { sticky: true }).on("click", function (e) {
          map.fitBounds(e.layer.getBounds());
        });
        lyr.ntmCode = pp.code[i];
        provinceLayers.push(lyr);
        aggregates.addLayer(lyr);
      });
    }

    // --- lazy communes by province (national scope) ----------------------------------
    var fetched = {};
    function loadVisibleProvinces() {
      var view = map.getBounds();
      provinceLayers.forEach(function (lyr) {
        var code = lyr.ntmCode;
        if (fetched[code] || !view.intersects(lyr.getBounds())) { return; }
        fetched[code] = true;
        status(T.loading);
        fetch(cfg.urls.communes + "&province=" + encodeURIComponent(code))
          .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
          .then(function (p) { addPayload(p); status(""); })
          .catch(function () { fetched[code] = false; status(T.load_failed); });
      });
    }

    // --- zoom levels ------------------------------------------------------------------
    var hint = document.getElementById("ntm-hint");
    function updateLevel() {
      var showCommunes = map.getZoom() >= communeZoom;
      if (showCommunes) {
        if (map.hasLayer(aggregates)) { map.removeLayer(aggregates); }
        if (!map.hasLayer(communes)) { map.addLayer(communes); }
        if (!cfg.inline) { loadVisibleProvinces(); }
      } else {
        if (pendingAggregates) { addDistrictAggregates(pendingAggregates); pendingAggregates = null; }
        if (map.hasLayer(communes)) { map.removeLayer(communes); }
        if (!map.hasLayer(aggregates)) { map.addLayer(aggregates); }
      }
      document.body.classList.toggle("ntm-aggregated", !showCommunes);
      if (hint) { hint.textContent = showCommunes ? "" : T.zoom_in; }
    }
    function status(text) {
      var el = document.getElementById("ntm-status");
      if (el) { el.textContent = text; }
    }

    // --- overlays ---------------------------------------------------------------------
    var V = cfg.vocab;
    var roadColours = { quoc_lo: "#c0392b", tinh_lo: "#e67e22", huyen_lo: "#d4ac0d", duong_xa: "#7f8c8d",
                        duong_thon: "#a6a6a6", noi_dong: "#8d6e63" };
    var roadWeights = { quoc_lo: 3.5, tinh_lo: 3, huyen_lo: 2.5, duong_xa: 1.8, duong_thon: 1.2, noi_dong: 1 };
    var stateColours = { planned: "#9e9e9e", under_way: "#f39c12", done: "#27ae60" };
    var fundingColours = { central_investment: "#1f4e79", central_recurrent: "#2e86c1", local_budget: "#8e44ad",
                           integrated: "#16a085", organisations: "#b9770e", community: "#c0392b" };
    var levelColours = { dat_chuan: "#a6d96a", nang_cao: "#1a9641", kieu_mau: "#00441b" };
    var pointColours = { schools: "#2471a3", health_stations: "#c0392b", markets: "#d68910", culture_houses: "#7d3c98" };
    function standardText(m) { return m === 1 ? T.meets_standard : m === 0 ? T.below_standard : T.no_data; }
    function label(kind, code) { return code ? (V[kind] && V[kind][code]) || code : ""; }
    var overlayOptions = {
      villages: {
        pane: "ntm-villages",
        style: function (f) {
          var c = levelColours[f.properties.k];
          return { color: "#6d6d6d", weight: 0.6, dashArray: "2 3", fillColor: c || "#ffffff", fillOpacity: c ? 0.7 : 0.05 };
        },
        popup: function (pr) { return "<b>" + esc(pr.n) + "</b><br>" + esc(T.level) + ": " + esc(pr.k ? label("recognition_levels", pr.k) : T.not_recognised); }
      },
      roads: {
        pane: "ntm-lines",
        style: function (f) {
          var pr = f.properties;
          return { color: roadColours[pr.k] || "#555555", weight: roadWeights[pr.k] || 1.2, opacity: 0.9,
                   dashArray: pr.h === 0 ? "4 4" : null };
        },
        popup: function (pr) {
          return "<b>" + esc(pr.n || label("road_classes", pr.k)) + "</b><br>" + esc(label("road_classes", pr.k)) +
            "<br>" + esc(label("road_surfaces", pr.s)) + " · " + esc(pr.h === 1 ? T.hardened : pr.h === 0 ? T.not_hardened : T.no_data);
        }
      },
      power_lines: {
        pane: "ntm-lines",
        style: function (f) { return { color: "#6c3483", weight: f.properties.v >= 100 ? 3 : f.properties.v >= 20 ? 2 : 1.2, opacity: 0.8 }; },
        popup: function (pr) { return "<b>" + esc(pr.n) + "</b><br>" + esc(T.voltage) + ": " + esc(pr.v === null ? "–" : pr.v + " kV"); }
      },
      projects: {
        pane: "ntm-points",
        style: function (f) {
          var pr = f.properties;
          return { color: fundingColours[pr.f] || "#333333", weight: 2.5, fillColor: stateColours[pr.s] || "#9e9e9e", fillOpacity: 0.9 };
        },
        radius: 6,
        popup: function (pr) {
          return "<b>" + esc(pr.n) + "</b><br>" + esc(T.state) + ": " + esc(label("project_states", pr.s)) +
            "<br>" + esc(T.funding_source) + ": " + esc(label("funding_sources", pr.f)) +
            "<br>" + esc(T.cost) + ": " + esc(pr.cost === null ? "–" : pr.cost.toLocaleString(cfg.lang === "vi" ? "vi-VN" : "en-GB")) +
            (pr.y ? "<br>" + esc(T.year) + ": " + esc(pr.y) : "") + (pr.cr ? "<br>" + esc(T.criterion) + ": " + esc(pr.cr) : "");
        }
      }
    };
    ["schools", "health_stations", "markets", "culture_houses"].forEach(function (name) {
      var kinds = { schools: "school_levels", markets: "market_classes", culture_houses: "culture_house_scopes" };
      overlayOptions[name] = {
        pane: "ntm-points",
        style: function (f) {
          var m = f.properties.m;
          return { color: pointColours[name], weight: 2, fillColor: m === 1 ? "#27ae60" : m === 0 ? "#e74c3c" : "#bdbdbd", fillOpacity: 0.9 };
        },
        radius: 4.5,
        popup: function (pr) {
          return "<b>" + esc(pr.n) + "</b>" + (pr.k ? "<br>" + esc(label(kinds[name], pr.k)) : "") + "<br>" + esc(standardText(pr.m));
        }
      };
    });
    // legend rows of each overlay, drawn with the same colours as its features
    function lineKey(colour, weight, dashed) {
      return "<span class='ntm-line' style='border-top:" + Math.max(weight, 1.5) + "px " + (dashed ? "dashed" : "solid") +
        " " + colour + "'></span>";
    }
    function dotKey(stroke, fill) { return "<span class='ntm-dot' style='border-color:" + stroke + ";background:" + fill + "'></span>"; }
    var legendRows = {
      villages: function () {
        return Object.keys(levelColours).map(function (k) {
          return ["<span class='ntm-swatch' style='background:" + levelColours[k] + "'></span>", label("recognition_levels", k)];
        }).concat([["<span class='ntm-swatch' style='background:#ffffff'></span>", T.not_recognised]]);
      },
      roads: function () {
        return Object.keys(roadColours).map(function (k) {
          return [lineKey(roadColours[k], roadWeights[k], false), label("road_classes", k)];
        }).concat([[lineKey("#555555", 2, true), T.not_hardened]]);
      },
      power_lines: function () {
        return [[lineKey("#6c3483", 3, false), "≥ 100 kV"], [lineKey("#6c3483", 2, false), "20–99 kV"],
                [lineKey("#6c3483", 1.2, false), "< 20 kV"]];
      },
      projects: function () {
        return Object.keys(stateColours).map(function (k) { return [dotKey("#333333", stateColours[k]), label("project_states", k)]; })
          .concat(Object.keys(fundingColours).map(function (k) { return [dotKey(fundingColours[k], "#ffffff"), label("funding_sources", k)]; }));
      }
    };
    ["schools", "health_stations", "markets", "culture_houses"].forEach(function (name) {
      legendRows[name] = function () {
        return [[dotKey(pointColours[name], "#27ae60"), T.meets_standard], [dotKey(pointColours[name], "#e74c3c"), T.below_standard],
                [dotKey(pointColours[name], "#bdbdbd"), T.no_data]];
      };
    });
    var overlayLegendBox = document.querySelector("#ntm-legend .ntm-overlay-legends");
    function showOverlayLegend(name, title, on) {
      if (!overlayLegendBox || !legendRows[name]) { return; }
      var old = overlayLegendBox.querySelector("[data-overlay='" + name + "']");
      if (old) { old.remove(); }
      if (!on) { return; }
      var div = document.createElement("div");
      div.setAttribute("data-overlay", name);
      div.innerHTML = "<h2>" + esc(title) + "</h2>" + legendRows[name]().map(function (r) {
        return "<div class='ntm-row'>" + r[0] + "<span>" + esc(r[1]) + "</span></div>";
      }).join("");
      overlayLegendBox.appendChild(div);
    }
    var overlays = {};
    cfg.overlays.forEach(function (o) {
      var name = o[0];
      var opts = overlayOptions[name];
      var group = L.geoJSON(null, {
        pane: opts.pane,
        style: opts.style,
        pointToLayer: function (f, latlng) { return L.circleMarker(latlng, { radius: opts.radius || 5, pane: opts.pane }); },
        onEachFeature: function (f, lyr) { lyr.bindPopup(function () { return opts.popup(f.properties); }); }
      });
      var lastBox = null;
      function load() {
        var url = cfg.urls.overlay.replace("__name__", name);
        if (!cfg.inline) {
          if (map.getZoom() < cfg.overlayZoom) { status(T.zoom_in_layers); return; }
          var b = map.getBounds();
          var box = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map(function (v) { return v.toFixed(3); }).join(",");
          if (box === lastBox) { return; }
          lastBox = box;
          url += "&bbox=" + box;
        } else if (group.ntmLoaded) {
          return;
        }
        group.ntmLoaded = true;
        status(T.loading);
        fetch(url).then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
          .then(function (data) { group.clearLayers(); group.addData(data); status(""); })
          .catch(function () { group.ntmLoaded = false; lastBox = null; status(T.load_failed); });
      }
      group.on("add", load);
      group.on("add", function () { showOverlayLegend(name, o[1], true); });
      group.on("remove", function () { showOverlayLegend(name, o[1], false); });
      if (!cfg.inline) { map.on("moveend", function () { if (map.hasLayer(group)) { load(); } }); }
      overlays[o[1]] = group;
    });
    var control = {};
    control[cfg.t.district_boundaries] = districtLines;
    Object.keys(overlays).forEach(function (k) { control[k] = overlays[k]; });
    // travel-time rasters: coloured images from our server, off by default, with their legend
    if (cfg.travel) {
      var travelBox = document.querySelector("#ntm-legend .ntm-travel");
      var shown = 0;
      var travelLegend = "<h2>" + esc(cfg.travel.title) + "</h2>" + cfg.travel.legend.map(function (c) {
        return "<div class='ntm-row'><span class='ntm-swatch' style='background:" + esc(c[0]) + "'></span><span>" +
          esc(c[1]) + "</span></div>";
      }).join("");
      cfg.travel.layers.forEach(function (tl) {
        var img = L.imageOverlay(tl.url, tl.bounds, { opacity: 0.75, pane: "ntm-raster", className: "ntm-travel-image" });
        img.on("add", function () { shown += 1; if (travelBox) { travelBox.innerHTML = travelLegend; } });
        img.on("remove", function () { shown -= 1; if (travelBox && !shown) { travelBox.innerHTML = ""; } });
        control[tl.name] = img;
      });
    }
    var base = {};
    if (cfg.tiles) {
      base[cfg.tiles.name] = L.tileLayer(cfg.tiles.url, { attribution: esc(cfg.tiles.attribution), maxZoom: 19 }).addTo(map);
    }
    L.control.layers(base, control, { collapsed: !!cfg.collapsedLayers, position: "topright" }).addTo(map);

    // --- search -----------------------------------------------------------------------
    var input = document.getElementById("ntm-search");
    var list = document.getElementById("ntm-results");
    var timer = null;
    function show(hit) {
      list.innerHTML = "";
      var b = hit.bounds;
      if (!b) { return; }
      map.fitBounds([[b[1], b[0]], [b[3], b[2]]], { maxZoom: Math.max(communeZoom, 12) });
      var open = function () {
        var lyr = byCode[hit.code];
        if (lyr) { lyr.openPopup(lyr.getBounds().getCenter()); } else { setTimeout(open, 200); }
      };
      setTimeout(open, 300);
    }
    function search() {
      var q = input.value.trim();
      if (!q) { list.innerHTML = ""; return; }
      fetch(cfg.urls.search + "&q=" + encodeURIComponent(q))
        .then(function (r) { return r.json(); })
        .then(function (hits) {
          list.innerHTML = "";
          if (!hits.length) {
            var none = document.createElement("li");
            none.className = "ntm-none";
            none.textContent = T.not_found;
            list.appendChild(none);
          }
          hits.forEach(function (hit) {
            var li = document.createElement("li");
            li.textContent = hit.full_name + (hit.district ? " — " + hit.district : "") + (cfg.inline || !hit.province ? "" : ", " + hit.province);
            li.tabIndex = 0;
            li.addEventListener("click", function () { show(hit); });
            li.addEventListener("keydown", function (e) { if (e.key === "Enter") { show(hit); } });
            list.appendChild(li);
          });
        })
        .catch(function () { status(T.load_failed); });
    }
    if (input) {
      input.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(search, 200); });
      input.addEventListener("keydown", function (e) {
        if (e.key === "Enter") { e.preventDefault(); var first = list.querySelector("li[tabindex]"); if (first) { first.click(); } }
      });
    }

    // --- selectors --------------------------------------------------------------------
    var form = document.getElementById("ntm-form");
    if (form) {
      Array.prototype.forEach.call(form.querySelectorAll("select"), function (sel) {
        sel.addEventListener("change", function () {
          if (sel.name === "province" && form.elements.district) { form.elements.district.value = ""; }
          if (sel.name === "set" && form.elements.criterion) { form.elements.criterion.value = ""; }
          if (sel.name === "mode" && form.elements.indicator && sel.value !== "indicator") { form.elements.indicator.value = ""; }
          Array.prototype.forEach.call(form.querySelectorAll("select"), function (s) { s.disabled = !s.value; });
          var ind = form.elements.indicator;  // only the analysis modes take an indicator
          if (ind && form.elements.mode && ["hotspot", "indicator"].indexOf(form.elements.mode.value) < 0) { ind.disabled = true; }
          form.submit();
        });
      });
    }

    // --- start ------------------------------------------------------------------------
    if (cfg.inline) {
      addPayload(cfg.communes);
    } else {
      addProvinces(cfg.provinces);
    }
    map.on("zoomend", updateLevel);
    map.on("moveend", function () { if (!cfg.inline && map.getZoom() >= communeZoom) { loadVisibleProvinces(); } });
    updateLevel();
    container.setAttribute("data-commune-zoom", String(communeZoom));
    container.setAttribute("data-ready", "1");
    window.ntmMap = map;
  }

  window.ntmOverview = overview;
})();
