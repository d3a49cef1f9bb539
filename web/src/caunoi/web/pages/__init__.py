"""The pages, one module per area of work; each exports ``module`` (its navigation entry and its
routes), listed in :mod:`caunoi.web.modules`."""
