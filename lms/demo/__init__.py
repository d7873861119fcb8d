"""The demo data set: the real Linyi (or Shandong) division tree with synthetic people and posts.

``divisions`` reads the shipped NBS division codes, ``populations`` and ``people`` synthesise
everything else from one seed (pure functions of seed, size and date), ``load`` bulk-writes it,
``accounts`` creates the demo logins and ``cli`` holds ``flask lms demo`` / ``demo-logins``.
"""
