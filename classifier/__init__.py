"""The TF-IDF + linear model over a report's text fields: features, training, evaluation.

Modules, one job each:

- `features`: the feature record, defined once (`feature_record`), used by training,
  evaluation and serving alike;
- `pipeline`: the scikit-learn Pipeline (TF-IDF per text column, one-hot categoricals, a
  calibrated linear model);
- `augment` and `corpus`: the training corpus, built from the knowledge base's example logs
  and realistic variants of them (`python -m classifier.corpus`);
- `dataset`: parsing a corpus once, and splits grouped by source log and crash signature;
- `threshold`: the abstention threshold and its criterion;
- `evaluate`: grouped evaluation against a baseline, `reports/evaluation.md`;
- `train`: `python -m classifier.train` / `panicdx train`;
- `artifact`: `model.joblib` + `manifest.json` (+ the export), and the loader that refuses
  mismatches;
- `fastpath`: the fitted pipeline's arithmetic without scikit-learn or its per-call overhead;
- `export`: that arithmetic's parameters as plain arrays (`compiled.npz` + `compiled.json`),
  which serving loads without scikit-learn and without unpickling;
- `labels`: labelled panics, import formats, validation and dedup by crash signature;
- `learn`: training with labelled panics, evaluated against the active model (`panicdx train
  --data-dir`);
- `report`: the learning loop's report (Markdown, confusion matrix and calibration plots);
- `registry`: the promotion gate and rollback rules (storage is `service.learning`);
- `unknowns`: clustering abstained diagnoses and drafting knowledge-base entries;
- `explore`: data frames for the notebooks.
"""
