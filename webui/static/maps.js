// The map under both pages: tiles when a tile server is set and answers, else the region's
// own roads drawn from the road graph (works with no internet at all).
"use strict";

const DoorstepMaps = (() => {
  const PALETTE = [
    "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf",
    "#8c564b", "#e377c2", "#bcbd22", "#393b79", "#637939", "#843c39",
  ];
  const ROAD_STYLE = {
    major: { color: "#9a9a9a", weight: 3 },
    street: { color: "#b8b8b8", weight: 1.5 },
    path: { color: "#d0d0d0", weight: 1 },
  };

  function colour(index) {
    return PALETTE[index % PALETTE.length];
  }

  /** A Leaflet map in `elementId` with a base layer for `regionId`; `onBase` is called
   *  with "tiles" or "offline" once the base layer is chosen. */
  function create(elementId, regionId, mapSettings, onBase) {
    const map = L.map(elementId, { preferCanvas: true, zoomSnap: 0.5 });
    let offline = null;
    const showOffline = () => {
      if (offline) return;
      offline = L.layerGroup().addTo(map);
      Doorstep.api(`/regions/${encodeURIComponent(regionId)}/basemap.geojson`)
        .then(({ body }) => {
          L.geoJSON(body, {
            style: (feature) => ROAD_STYLE[feature.properties.road_class] || ROAD_STYLE.path,
            interactive: false,
          }).addTo(offline);
          map.attributionControl.addAttribution(Doorstep.t("offline_map"));
          document.getElementById(elementId).dataset.base = "offline";
          if (onBase) onBase("offline");
        })
        .catch(() => {});
    };
    if (mapSettings && mapSettings.tile_url) {
      let loaded = 0;
      let failed = 0;
      const tiles = L.tileLayer(mapSettings.tile_url, {
        attribution: mapSettings.tile_attribution || "",
        maxZoom: 19,
      });
      tiles.on("tileload", () => {
        loaded += 1;
        document.getElementById(elementId).dataset.base = "tiles";
      });
      tiles.on("tileerror", () => {
        failed += 1;
        if (failed >= 3 && loaded === 0) {
          map.removeLayer(tiles);
          showOffline();
        }
      });
      tiles.addTo(map);
      // A tile server that never answers fires no error at all: give it a few seconds.
      setTimeout(() => { if (loaded === 0) { map.removeLayer(tiles); showOffline(); } }, 4000);
    } else {
      showOffline();
    }
    return map;
  }

  function numberIcon(number, fill, extraClass) {
    return L.divIcon({
      className: `stop-icon ${extraClass || ""}`,
      html: `<span style="background:${fill}">${Number(number)}</span>`,
      iconSize: [24, 24],
      iconAnchor: [12, 12],
    });
  }

  function labelIcon(label, fill, extraClass) {
    const safe = String(label).replace(/[^A-Za-z0-9×]/g, "").slice(0, 2);
    return L.divIcon({
      className: `place-icon ${extraClass || ""}`,
      html: `<span style="border-color:${fill}">${safe}</span>`,
      iconSize: [22, 22],
      iconAnchor: [11, 11],
    });
  }

  return { create, colour, numberIcon, labelIcon };
})();
