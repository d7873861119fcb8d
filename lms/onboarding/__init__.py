"""Train before posting: the onboarding gate on posts, the county consultation before a director
is appointed, the filing of village assistants with the county, replacement cases and the
oversight lists (spec decision 4, domain §3.1–3.3 and §3.5)."""
