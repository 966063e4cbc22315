/* Case files on a weak line (issue 15).
 *
 * Case page: files over SMALL_BYTES go through the resumable upload API in chunks; a chunk that fails is retried
 * with growing pauses and the upload resumes at the offset the server reports, so a dropped signal costs one chunk,
 * not the file. The session's address is kept in localStorage under the file's name, size and date: choosing the
 * same file again after a reload continues where it stopped. Small files go with the form as it is.
 *
 * Intake page: a chosen JPEG's EXIF place (WGS84 by the EXIF standard) is offered as the case's location with one
 * tap; the server reads EXIF again (HEIC included) and keeps it with the file. Nothing here decides who may see
 * what: the server does.
 */
(function () {
  "use strict";
  var gettext = window.gettext || function (s) { return s; };
  var interpolate = window.interpolate || function (fmt, args) {
    var i = 0;
    return fmt.replace(/%s/g, function () { return String(args[i++]); });
  };
  var SMALL_BYTES = 2 * 1024 * 1024;
  var PAUSES = [1000, 2000, 4000, 8000, 15000, 30000, 60000];

  function csrf(form) {
    var input = form.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function request(method, url, token, body, headers) {
    return new Promise(function (resolve, reject) {
      var xhr = new XMLHttpRequest();
      xhr.open(method, url);
      xhr.setRequestHeader("X-CSRFToken", token);
      xhr.setRequestHeader("Accept", "application/json");
      Object.keys(headers || {}).forEach(function (k) { xhr.setRequestHeader(k, headers[k]); });
      xhr.timeout = 120000;
      xhr.onload = function () {
        var data = null;
        try { data = JSON.parse(xhr.responseText); } catch (e) { data = null; }
        resolve({ status: xhr.status, data: data });
      };
      xhr.onerror = xhr.ontimeout = function () { reject(new Error("network")); };
      xhr.send(body);
    });
  }

  function sleep(ms) {
    return new Promise(function (resolve) { setTimeout(resolve, ms); });
  }

  function firstError(data) {
    if (!data) return gettext("上传失败");
    var keys = Object.keys(data);
    var value = keys.length ? data[keys[0]] : "";
    return String(Array.isArray(value) ? value[0] : value || gettext("上传失败"));
  }

  function fileKey(caseUrl, file) {
    return "gd-upload:" + caseUrl + ":" + file.name + ":" + file.size + ":" + file.lastModified;
  }

  /* One file through the resumable API; resolves with the attachment, rejects with a message. */
  function resumable(form, file, say) {
    var token = csrf(form), base = form.dataset.uploads, key = fileKey(base, file);
    var kind = form.querySelector("[name=kind]").value, caption = form.querySelector("[name=caption]").value;

    function start() {
      var known = window.localStorage && localStorage.getItem(key);
      if (known) {
        return request("GET", known, token, null).then(function (r) {
          if (r.status === 200) return r.data;
          localStorage.removeItem(key);
          return start();
        });
      }
      var body = JSON.stringify({ name: file.name, size: file.size, kind: kind, caption: caption });
      return request("POST", base, token, body, { "Content-Type": "application/json" }).then(function (r) {
        if (r.status !== 201) throw new Error(firstError(r.data));
        if (window.localStorage) localStorage.setItem(key, r.data.url);
        return r.data;
      });
    }

    function send(session, offset, attempt) {
      say(offset, file.size);
      var end = Math.min(offset + session.chunk_size, file.size);
      var headers = { "Content-Type": "application/octet-stream",
                      "Content-Range": "bytes " + offset + "-" + (end - 1) + "/" + file.size };
      return request("PUT", session.url, token, file.slice(offset, end), headers).then(function (r) {
        if (r.status === 201) {
          if (window.localStorage) localStorage.removeItem(key);
          return r.data;
        }
        if (r.status === 200) return send(session, r.data.received, 0);
        if (r.status === 409 && r.data && typeof r.data.received === "number") return send(session, r.data.received, 0);
        if (r.status >= 500 || r.status === 0) throw new Error("retry");
        if (window.localStorage) localStorage.removeItem(key);
        throw new Error(firstError(r.data));
      }).catch(function (err) {
        if (err.message !== "network" && err.message !== "retry") throw err;
        if (attempt >= PAUSES.length) throw new Error(gettext("网络中断,请稍后再选择此文件继续上传"));
        say(offset, file.size, true);
        return sleep(PAUSES[attempt]).then(function () {
          return request("GET", session.url, token, null).then(function (r) {
            return send(session, r.status === 200 ? r.data.received : offset, attempt + 1);
          }, function () {
            return send(session, offset, attempt + 1);
          });
        });
      });
    }

    return start().then(function (session) { return send(session, session.received, 0); });
  }

  function casePage() {
    var form = document.getElementById("attach-form");
    if (!form || !window.Promise || !window.FormData) return;
    var bar = document.getElementById("attach-progress"), status = document.getElementById("attach-status");
    form.addEventListener("submit", function (event) {
      var files = [];
      form.querySelectorAll("input[type=file]").forEach(function (input) {
        Array.prototype.forEach.call(input.files || [], function (f) { files.push(f); });
      });
      var large = files.some(function (f) { return f.size > SMALL_BYTES; });
      if (!large) return; // the form goes as it is
      event.preventDefault();
      bar.hidden = false;
      var chain = Promise.resolve();
      files.forEach(function (file) {
        chain = chain.then(function () {
          return resumable(form, file, function (done, total, waiting) {
            bar.value = Math.round((100 * done) / total);
            status.textContent = waiting
              ? interpolate(gettext("%s:网络中断,正在重试(已上传 %s%%)"), [file.name, bar.value])
              : interpolate(gettext("%s:已上传 %s%%"), [file.name, bar.value]);
          });
        });
      });
      chain.then(function () {
        status.textContent = gettext("上传完成");
        window.location.hash = "attachments";
        window.location.reload();
      }, function (err) {
        status.textContent = err.message;
        status.className = "error";
      });
    });
  }

  /* --- EXIF GPS of a JPEG, read in the browser (only to offer the place; the server reads it again) --- */
  function exifPlace(buffer) {
    var view = new DataView(buffer);
    if (view.byteLength < 4 || view.getUint16(0) !== 0xffd8) return null;
    var offset = 2;
    while (offset + 4 < view.byteLength) {
      var marker = view.getUint16(offset), size = view.getUint16(offset + 2);
      if (marker === 0xffe1 && view.getUint32(offset + 4) === 0x45786966) return tiff(view, offset + 10);
      if ((marker & 0xff00) !== 0xff00 || marker === 0xffda) return null;
      offset += 2 + size;
    }
    return null;
  }

  function tiff(view, start) {
    var little = view.getUint16(start) === 0x4949;
    function u16(o) { return view.getUint16(start + o, little); }
    function u32(o) { return view.getUint32(start + o, little); }
    function entries(ifd) {
      var out = {}, n = u16(ifd);
      for (var i = 0; i < n; i++) {
        var e = ifd + 2 + i * 12;
        out[u16(e)] = { type: u16(e + 2), count: u32(e + 4), at: e + 8 };
      }
      return out;
    }
    function ascii(entry) {
      var at = entry.count > 4 ? u32(entry.at) : entry.at, s = "";
      for (var i = 0; i < entry.count - 1; i++) s += String.fromCharCode(view.getUint8(start + at + i));
      return s;
    }
    function rationals(entry) {
      var at = u32(entry.at), out = [];
      for (var i = 0; i < entry.count; i++) out.push(u32(at + i * 8) / (u32(at + i * 8 + 4) || 1));
      return out;
    }
    try {
      var top = entries(u32(4));
      var place = {};
      if (top[0x8825]) {
        var gps = entries(u32(top[0x8825].at));
        if (gps[2] && gps[4]) {
          var lat = rationals(gps[2]), lon = rationals(gps[4]);
          place.lat = (lat[0] + lat[1] / 60 + lat[2] / 3600) * (gps[1] && ascii(gps[1]) === "S" ? -1 : 1);
          place.lon = (lon[0] + lon[1] / 60 + lon[2] / 3600) * (gps[3] && ascii(gps[3]) === "W" ? -1 : 1);
          place.datum = gps[18] ? ascii(gps[18]).replace(/[\s-]/g, "").toUpperCase() : "WGS84";
        }
      }
      if (top[0x8769]) {
        var exif = entries(u32(top[0x8769].at));
        if (exif[0x9003]) place.takenAt = ascii(exif[0x9003]);
      }
      return place;
    } catch (e) {
      return null;
    }
  }

  function intakePage() {
    var inputs = document.querySelectorAll("input[type=file][data-exif-offer]");
    var box = document.getElementById("photo-place");
    var lon = document.getElementById("id_lon"), lat = document.getElementById("id_lat");
    var datum = document.getElementById("id_datum");
    if (!inputs.length || !box || !lon || !lat || !window.FileReader) return;
    var text = box.querySelector(".photo-place-text"), button = box.querySelector("button");
    var found = null;
    button.addEventListener("click", function () {
      if (!found) return;
      lon.value = found.lon.toFixed(7);
      lat.value = found.lat.toFixed(7);
      if (datum) datum.value = "wgs84";
      lon.dispatchEvent(new Event("change"));
      button.disabled = true;
      text.textContent = gettext("已采用照片的拍摄位置(WGS84)");
    });
    var names = document.getElementById("photo-names");
    inputs.forEach(function (input) {
      input.addEventListener("change", function () {
        var chosen = [];
        inputs.forEach(function (each) {
          Array.prototype.forEach.call(each.files || [], function (f) { chosen.push(f.name); });
        });
        if (names) names.textContent = chosen.length ? interpolate(gettext("已选 %s 个:%s"), [chosen.length, chosen.join("、")]) : "";
        var file = input.files && input.files[0];
        if (!file || !/jpe?g$/i.test(file.type || file.name)) return;
        var reader = new FileReader();
        reader.onload = function () {
          var place = exifPlace(reader.result);
          if (!place || place.lon === undefined || place.datum !== "WGS84") return;
          found = place;
          box.hidden = false;
          button.disabled = false;
          text.textContent = interpolate(gettext("照片拍摄位置 %s, %s(WGS84)"), [place.lon.toFixed(6), place.lat.toFixed(6)]) +
            (place.takenAt ? " · " + interpolate(gettext("拍摄时间 %s"), [place.takenAt]) : "");
        };
        reader.readAsArrayBuffer(file.slice(0, 256 * 1024));
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    casePage();
    intakePage();
  });
})();
