"""Web maps (folium) and report figures (matplotlib) drawn from the store."""
