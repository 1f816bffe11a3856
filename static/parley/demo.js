/* The public demo page (templates/parley/demo.html): starts the widget with
   the app token in #parley-demo-config. A file, not an inline script, as the
   page's content security policy runs only Parley's own scripts. */
(function () {
  var config = JSON.parse(document.getElementById("parley-demo-config").textContent);
  var status = document.getElementById("demo-status");
  document.getElementById("open-chat").addEventListener("click", function () { Parley.open(); });
  Parley.init({appToken: config.appToken}).catch(function (error) {
    status.textContent = "The widget could not start: " + error.message;
  });
})();
