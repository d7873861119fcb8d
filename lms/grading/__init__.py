"""Annual evaluation of village assistants: scores → grade → level → stipend."""
