"""The top floor that composes `ingest` and `kg`: an ingest run (pages -> graphs -> store ->
index) and the project-text concepts of linking. The one place below the web that imports both."""
