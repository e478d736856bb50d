"""Everything that imports streamlit: caches, view state, widgets, messages, and one module per page that needs
more than widgets and a chart. Pages import the modules they use by name."""
